/**
 * @upstash/ratelimit adapter (edge): fixed windows in Upstash Redis over REST. The library's own
 * timeout is disabled (it would silently *allow* on timeout); `limitWithin` owns the deadline
 * so auth routes can fail closed.
 */
import { Ratelimit } from "@upstash/ratelimit";
import { Redis } from "@upstash/redis";
import { type RateLimiter, type RateLimitRule, ruleId } from "./index";

export type UpstashRateLimiterOptions =
  | { url: string; token: string; prefix?: string; now?: () => number }
  | { redis: Redis; prefix?: string; now?: () => number };

export function createUpstashRateLimiter(options: UpstashRateLimiterOptions): RateLimiter {
  const redis =
    "redis" in options
      ? options.redis
      : new Redis({
          url: options.url,
          token: options.token,
          enableTelemetry: false,
          retry: { retries: 1, backoff: () => 50 },
        });
  const prefix = options.prefix ?? "horizon:rl";
  const now = options.now ?? Date.now;
  const limiters = new Map<string, Ratelimit>();

  const limiterFor = (rule: RateLimitRule): Ratelimit => {
    const id = ruleId(rule);
    let limiter = limiters.get(id);
    if (!limiter) {
      limiter = new Ratelimit({
        redis,
        limiter: Ratelimit.fixedWindow(rule.limit, `${rule.windowSeconds} s`),
        prefix: `${prefix}:${id}`,
        timeout: 0,
        analytics: false,
        // Remembers refused identifiers until their reset, saving a REST round trip per refusal.
        ephemeralCache: new Map(),
      });
      limiters.set(id, limiter);
    }
    return limiter;
  };

  return {
    kind: "upstash",
    async limit(key, rule) {
      const res = await limiterFor(rule).limit(key);
      return {
        success: res.success,
        limit: rule.limit,
        remaining: Math.max(0, res.remaining),
        resetMs: Math.max(0, res.reset - now()),
      };
    },
    async close() {
      limiters.clear();
    },
  };
}
