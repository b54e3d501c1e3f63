/**
 * The in-process window cache in front of the Redis limiter (src/platform/ratelimit/local-window.ts),
 * on the real local Redis: exact counts and headers for one process, refusals answered without a
 * round trip until the window resets, write-behind counts reaching Redis, and two processes
 * sharing a key staying within the limit plus the documented slack.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RateLimitRule } from "../../src/platform/ratelimit";
import { createFlexibleRateLimiter } from "../../src/platform/ratelimit/flexible";
import {
  type CountingRateLimiter,
  localCapOf,
  reserveOf,
  withLocalWindow,
} from "../../src/platform/ratelimit/local-window";
import { REDIS_URL } from "../support/env";

const run = `${process.pid}-${Date.now().toString(36)}`;
let n = 0;
const freshKey = () => `lw-${run}-${n++}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let client: Redis;
beforeAll(async () => {
  client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  await client.ping();
});
afterAll(() => client.disconnect());

/** The Redis limiter without the cache, with its calls counted (what reaches Redis). */
function backend(prefix = `t-lw-${run}`) {
  const inner = createFlexibleRateLimiter({
    store: "redis",
    client,
    prefix,
    localWindow: false,
  }) as CountingRateLimiter;
  const seen = { calls: 0, points: 0 };
  const counting: CountingRateLimiter = {
    kind: inner.kind,
    limit: (key, rule, cost = 1) => {
      seen.calls += 1;
      seen.points += cost;
      return inner.limit(key, rule, cost);
    },
    close: async () => {},
  };
  return { counting, seen, inner };
}

describe("rate limiter: in-process window cache over Redis", () => {
  it("admits exactly `limit` with exact remaining, mostly without a round trip, then refuses", async () => {
    const rule: RateLimitRule = { name: "read", limit: 100, windowSeconds: 60 };
    const { counting, seen, inner } = backend();
    const limiter = withLocalWindow(counting);
    const key = freshKey();
    for (let i = 1; i <= 100; i++) {
      const d = await limiter.limit(key, rule);
      expect(d, `request ${i}`).toMatchObject({ success: true, limit: 100, remaining: 100 - i });
      expect(d.resetMs).toBeGreaterThan(0);
    }
    expect((await limiter.limit(key, rule)).success).toBe(false);
    // The first request and the last `reserve` ones went to Redis, plus the write-behind flushes.
    expect(seen.calls).toBeLessThan(100);
    await sleep(50);
    // Everything admitted was counted in Redis: a limiter without the cache sees the window full.
    expect((await inner.limit(key, rule)).success).toBe(false);
    await limiter.close();
  });

  it("refuses a blocked key locally until its window resets, then asks Redis again", async () => {
    const rule: RateLimitRule = { name: "write", limit: 3, windowSeconds: 1 };
    const { counting, seen } = backend();
    const limiter = withLocalWindow(counting);
    const key = freshKey();
    for (let i = 0; i < 3; i++) expect((await limiter.limit(key, rule)).success).toBe(true);
    const refused = await limiter.limit(key, rule);
    expect(refused.success).toBe(false);
    const before = seen.calls;
    for (let i = 0; i < 20; i++) {
      const d = await limiter.limit(key, rule);
      expect(d).toMatchObject({ success: false, remaining: 0 });
      expect(d.resetMs).toBeLessThanOrEqual(refused.resetMs);
    }
    expect(seen.calls).toBe(before);
    await sleep(refused.resetMs + 150);
    expect((await limiter.limit(key, rule)).success).toBe(true);
    expect(seen.calls).toBe(before + 1);
    await limiter.close();
  });

  it("sends write-behind counts to Redis in one call per key and flush", async () => {
    const rule: RateLimitRule = { name: "read", limit: 1000, windowSeconds: 60 };
    const { counting, seen } = backend();
    const limiter = withLocalWindow(counting, { flushMs: 20 });
    const key = freshKey();
    await limiter.limit(key, rule); // learns the window
    const calls = seen.calls;
    // Fewer than the local share (half the reserve: 50 of 1000): all admitted here, counted later.
    await Promise.all(Array.from({ length: localCapOf(rule.limit) - 1 }, () => limiter.limit(key, rule)));
    expect(seen.calls).toBe(calls);
    await sleep(60);
    expect(seen.calls).toBe(calls + 1);
    expect(seen.points).toBe(localCapOf(rule.limit));
    await limiter.close();
  });

  it("two processes sharing a key admit at most the limit plus the other's uncounted share", async () => {
    const rule: RateLimitRule = { name: "read", limit: 200, windowSeconds: 60 };
    const prefix = `t-lw2-${run}`;
    const a = withLocalWindow(backend(prefix).counting);
    const b = withLocalWindow(backend(prefix).counting);
    const key = freshKey();
    let admitted = 0;
    await Promise.all(
      [a, b].map(async (limiter) => {
        for (let i = 0; i < 300; i++) if ((await limiter.limit(key, rule)).success) admitted++;
      }),
    );
    expect(admitted).toBeGreaterThanOrEqual(rule.limit - reserveOf(rule.limit));
    expect(admitted).toBeLessThanOrEqual(rule.limit + localCapOf(rule.limit));
    await Promise.all([a.close(), b.close()]);
  });
});
