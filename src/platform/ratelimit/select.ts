/**
 * Rate-limiter choice for Bun/Node hosts: REDIS_URL → rate-limiter-flexible over Redis (its own
 * connection, so a slow limiter never queues behind cache traffic); UPSTASH_* → @upstash/ratelimit;
 * else process memory. The edge host builds the Upstash adapter itself, once per isolate.
 */
import type { Config } from "../../config";
import type { RateLimiter } from "./index";

export async function selectRateLimiter(config: Config): Promise<RateLimiter> {
  if (config.REDIS_URL) {
    const [{ Redis }, { createFlexibleRateLimiter }] = await Promise.all([
      import("ioredis"),
      import("./flexible"),
    ]);
    const client = new Redis(config.REDIS_URL, {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      commandTimeout: config.RATE_LIMIT_TIMEOUT_MS * 2,
    });
    client.on("error", () => {});
    // Connect before serving: until ready the adapter refuses (reads pass, auth answers 503).
    await client.connect().catch(() => {});
    return createFlexibleRateLimiter({ store: "redis", client, ownsClient: true, prefix: "horizon:rl" });
  }
  if (config.UPSTASH_REDIS_REST_URL && config.UPSTASH_REDIS_REST_TOKEN) {
    const { createUpstashRateLimiter } = await import("./upstash");
    return createUpstashRateLimiter({
      url: config.UPSTASH_REDIS_REST_URL,
      token: config.UPSTASH_REDIS_REST_TOKEN,
    });
  }
  const { createFlexibleRateLimiter } = await import("./flexible");
  return createFlexibleRateLimiter({ store: "memory" });
}
