/**
 * One contract for every rate-limiter adapter: rate-limiter-flexible in memory and on the local
 * Redis, and @upstash/ratelimit through the Upstash REST bridge to the same Redis.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { limitWithin, type RateLimiter, type RateLimitRule } from "../../src/platform/ratelimit";
import { createFlexibleRateLimiter } from "../../src/platform/ratelimit/flexible";
import { createUpstashRateLimiter } from "../../src/platform/ratelimit/upstash";
import { REDIS_URL } from "../support/env";
import { startUpstashBridge, type UpstashBridge } from "../support/upstash-bridge";

const run = `${process.pid}-${Date.now().toString(36)}`;
let n = 0;
const freshKey = () => `contract-${run}-${n++}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Adapter = { name: string; make: () => Promise<RateLimiter>; after?: () => Promise<void> };

let bridge: UpstashBridge | undefined;
const adapters: Adapter[] = [
  { name: "flexible/memory", make: async () => createFlexibleRateLimiter({ store: "memory" }) },
  {
    name: "flexible/redis",
    make: async () => {
      const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
      await client.ping(); // the adapter refuses while the connection is not ready
      return createFlexibleRateLimiter({ store: "redis", client, ownsClient: true, prefix: `t-rl-${run}` });
    },
  },
  {
    name: "upstash (REST bridge)",
    make: async () => {
      bridge = await startUpstashBridge({ redisUrl: REDIS_URL });
      return createUpstashRateLimiter({ url: bridge.url, token: bridge.token, prefix: `t-rl-${run}` });
    },
    after: async () => bridge?.stop(),
  },
];

describe.each(adapters)("rate limiter contract: $name", (adapter) => {
  let limiter: RateLimiter;
  beforeAll(async () => {
    limiter = await adapter.make();
  });
  afterAll(async () => {
    await limiter.close();
    await adapter.after?.();
  });

  it("allows `limit` requests with decreasing remaining, then refuses", async () => {
    const rule: RateLimitRule = { name: "read", limit: 5, windowSeconds: 60 };
    const key = freshKey();
    for (let i = 1; i <= 5; i++) {
      const d = await limiter.limit(key, rule);
      expect(d).toMatchObject({ success: true, limit: 5, remaining: 5 - i });
      expect(d.resetMs).toBeGreaterThan(0);
      expect(d.resetMs).toBeLessThanOrEqual(60_000);
    }
    const refused = await limiter.limit(key, rule);
    expect(refused).toMatchObject({ success: false, limit: 5, remaining: 0 });
    expect(refused.resetMs).toBeGreaterThan(0);
    expect(refused.resetMs).toBeLessThanOrEqual(60_000);
  });

  it("keeps keys and rules apart", async () => {
    const strict: RateLimitRule = { name: "auth", limit: 1, windowSeconds: 60 };
    const generous: RateLimitRule = { name: "read", limit: 100, windowSeconds: 60 };
    const a = freshKey();
    const b = freshKey();
    expect((await limiter.limit(a, strict)).success).toBe(true);
    expect((await limiter.limit(a, strict)).success).toBe(false);
    expect((await limiter.limit(b, strict)).success).toBe(true);
    expect((await limiter.limit(a, generous)).success).toBe(true);
  });

  it("opens a new window after the reset", async () => {
    const rule: RateLimitRule = { name: "write", limit: 1, windowSeconds: 1 };
    const key = freshKey();
    expect((await limiter.limit(key, rule)).success).toBe(true);
    const refused = await limiter.limit(key, rule);
    expect(refused.success).toBe(false);
    await sleep(refused.resetMs + 150);
    expect((await limiter.limit(key, rule)).success).toBe(true);
  });

  it("counts concurrent requests exactly", async () => {
    const rule: RateLimitRule = { name: "write", limit: 10, windowSeconds: 60 };
    const key = freshKey();
    const results = await Promise.all(Array.from({ length: 25 }, () => limiter.limit(key, rule)));
    expect(results.filter((r) => r.success)).toHaveLength(10);
  });

  it("answers within the guard's deadline as a decision", async () => {
    const outcome = await limitWithin(
      limiter,
      freshKey(),
      { name: "read", limit: 3, windowSeconds: 60 },
      2000,
    );
    expect(outcome).toMatchObject({ kind: "decided", decision: { success: true, remaining: 2 } });
  });
});
