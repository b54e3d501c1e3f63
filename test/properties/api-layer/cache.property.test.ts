import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createCache } from "../../../src/platform/cache";
import { createMemoryKv } from "../../../src/platform/kv/memory";

describe("Property 35: Cache TTL enforcement", () => {
  it("Property 35: a cached value is never served past TTL + stale window, get() never past TTL, and kv evicts it", async () => {
    // get() answering null every time would pass the TTL check below: count the hits it checked.
    let hits = 0;
    let steps = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.array(fc.integer({ min: 0, max: 60_000 }), { minLength: 1, maxLength: 12 }),
        async (ttl, stale, schedule) => {
          let now = 5_000_000;
          const kv = createMemoryKv({ now: () => now });
          const cache = createCache({ kv, now: () => now, defaultStaleMs: stale });
          let computedAt = now;
          const factory = async () => {
            computedAt = now;
            return { computedAt: now };
          };
          await cache.remember("k", ttl, factory);
          for (const step of schedule) {
            now += step;
            const fresh = await cache.get<{ computedAt: number }>("k");
            steps++;
            if (fresh) {
              hits++;
              expect(now - fresh.computedAt).toBeLessThan(ttl);
            }
            const served = await cache.remember("k", ttl, factory);
            expect(now - served.computedAt).toBeLessThan(ttl + stale);
            await new Promise((r) => setImmediate(r)); // let a background refresh land
          }
          now = computedAt + ttl + stale;
          expect(await kv.get("cache:k")).toBeNull();
          await kv.close();
        },
      ),
      { numRuns: 150 },
    );
    expect(hits).toBeGreaterThan(steps / 10);
  });
});
