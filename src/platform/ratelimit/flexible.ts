/**
 * rate-limiter-flexible adapter (standalone hosts): fixed windows in process memory, or in Redis
 * (one atomic Lua INCR + EXPIRE per request) so several processes share the counters. The Redis
 * store sits behind the in-process window cache (./local-window.ts: blocked keys refused locally,
 * requests far from the limit counted write-behind) unless `localWindow: false`.
 */
import type { Redis } from "ioredis";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import { type RateLimitDecision, type RateLimiter, type RateLimitRule, ruleId } from "./index";
import { type CountingRateLimiter, type LocalWindowOptions, withLocalWindow } from "./local-window";

type Backend = RateLimiterMemory | RateLimiterRedis;

export type FlexibleOptions =
  | { store: "memory"; prefix?: string }
  | {
      store: "redis";
      /** An ioredis client; closed by `close()` only when `ownsClient` is true. */
      client: Redis;
      ownsClient?: boolean;
      prefix?: string;
      /** The in-process window cache (default on); false sends every request to Redis. */
      localWindow?: false | LocalWindowOptions;
    };

export function createFlexibleRateLimiter(options: FlexibleOptions): RateLimiter {
  const prefix = options.prefix ?? "rl";
  const limiters = new Map<string, Backend>();

  const backendFor = (rule: RateLimitRule): Backend => {
    const id = ruleId(rule);
    let backend = limiters.get(id);
    if (!backend) {
      const common = {
        points: rule.limit,
        duration: rule.windowSeconds,
        keyPrefix: `${prefix}:${rule.name}:${rule.limit}:${rule.windowSeconds}`,
      };
      backend =
        options.store === "memory"
          ? new RateLimiterMemory(common)
          : // rejectIfRedisNotReady: answer at once while Redis is down instead of queueing.
            new RateLimiterRedis({ ...common, storeClient: options.client, rejectIfRedisNotReady: true });
      limiters.set(id, backend);
    }
    return backend;
  };

  const toDecision = (rule: RateLimitRule, res: RateLimiterRes, success: boolean): RateLimitDecision => ({
    success,
    limit: rule.limit,
    remaining: Math.max(0, rule.limit - res.consumedPoints),
    resetMs: Math.max(0, res.msBeforeNext),
  });

  const limiter: CountingRateLimiter = {
    kind: options.store,
    async limit(key, rule, cost = 1) {
      try {
        return toDecision(rule, await backendFor(rule).consume(key, cost), true);
      } catch (err) {
        // The library rejects with a RateLimiterRes when over the limit, with an Error otherwise.
        if (err instanceof RateLimiterRes) return toDecision(rule, err, false);
        throw err;
      }
    },
    async close() {
      limiters.clear();
      if (options.store === "redis" && options.ownsClient) options.client.disconnect();
    },
  };
  if (options.store === "redis" && options.localWindow !== false)
    return withLocalWindow(limiter, options.localWindow || {});
  return limiter;
}
