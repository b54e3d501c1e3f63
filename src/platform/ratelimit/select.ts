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
    // Connect before serving: until ready the adapter refuses (reads pass, auth answers 503). A
    // server that accepts TCP but never answers would keep connect() pending forever: bounded.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      client.connect().catch(() => {}),
      new Promise((resolve) => {
        timer = setTimeout(resolve, Math.max(1000, config.RATE_LIMIT_TIMEOUT_MS * 4));
      }),
    ]);
    clearTimeout(timer);
    return createFlexibleRateLimiter({
      store: "redis",
      client,
      ownsClient: true,
      prefix: `${config.KV_PREFIX}rl`,
    });
  }
  if (config.UPSTASH_REDIS_REST_URL && config.UPSTASH_REDIS_REST_TOKEN) {
    const { createUpstashRateLimiter } = await import("./upstash");
    return createUpstashRateLimiter({
      url: config.UPSTASH_REDIS_REST_URL,
      token: config.UPSTASH_REDIS_REST_TOKEN,
      prefix: `${config.KV_PREFIX}rl`,
    });
  }
  const { createFlexibleRateLimiter } = await import("./flexible");
  return createFlexibleRateLimiter({ store: "memory" });
}
