import { describe, expect, it } from "vitest";
import { createCache } from "../../../src/platform/cache";
import { createMemoryKv } from "../../../src/platform/kv/memory";

function setup(staleMs = 0) {
  let now = 1_000_000;
  const kv = createMemoryKv({ now: () => now });
  const cache = createCache({ kv, now: () => now, defaultStaleMs: staleMs });
  return { kv, cache, advance: (ms: number) => (now += ms) };
}

describe("cache service", () => {
  it("gets, sets and deletes JSON values within their TTL", async () => {
    const { cache, advance } = setup();
    expect(await cache.get("a")).toBeNull();
    await cache.set("a", { n: 1, list: [1, 2] }, 1000);
    expect(await cache.get("a")).toEqual({ n: 1, list: [1, 2] });
    advance(999);
    expect(await cache.get("a")).not.toBeNull();
    advance(1);
    expect(await cache.get("a")).toBeNull();
    await cache.set("b", 1, 1000);
    await cache.delete("b");
    expect(await cache.get("b")).toBeNull();
  });

  it("computes once for concurrent misses (single-flight)", async () => {
    const { cache } = setup();
    let calls = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const factory = async () => {
      calls++;
      await gate;
      return { v: calls };
    };
    const all = Promise.all(Array.from({ length: 20 }, () => cache.remember("k", 1000, factory)));
    release();
    const results = await all;
    expect(calls).toBe(1);
    expect(new Set(results.map((r) => r.v))).toEqual(new Set([1]));
    expect(await cache.remember("k", 1000, factory)).toEqual({ v: 1 });
  });

  it("serves stale within the window while refreshing once, never after it", async () => {
    const { cache, advance } = setup(500);
    let version = 0;
    const factory = async () => ++version;
    expect(await cache.remember("s", 1000, factory)).toBe(1);
    advance(1200); // stale
    expect(await cache.remember("s", 1000, factory)).toBe(1);
    await new Promise((r) => setTimeout(r, 10)); // background refresh
    expect(version).toBe(2);
    expect(await cache.remember("s", 1000, factory)).toBe(2);
    advance(1600); // past TTL + stale of the refreshed entry
    expect(await cache.remember("s", 1000, factory)).toBe(3);
  });

  it("invalidates every entry of a tag and skips storing results computed across an invalidation", async () => {
    const { cache, kv } = setup();
    await cache.set("building:7:profile", "p", 60_000, { tags: ["building:7"] });
    await cache.set("building:7:apartments", "a", 60_000, { tags: ["building:7"] });
    await cache.set("building:8:profile", "q", 60_000, { tags: ["building:8"] });
    expect(await cache.invalidateTag("building:7")).toBe(2);
    expect(await cache.get("building:7:profile")).toBeNull();
    expect(await cache.get("building:8:profile")).toBe("q");

    const slow = cache.remember(
      "building:7:profile",
      60_000,
      async () => {
        await cache.invalidateTag("building:7"); // a write lands while we compute
        return "old";
      },
      { tags: ["building:7"] },
    );
    expect(await slow).toBe("old");
    expect(await kv.get("cache:building:7:profile")).toBeNull();
    expect(await cache.invalidatePattern("building:8:*")).toBe(1);
  });

  it("degrades to the factory when kv fails", async () => {
    const { kv } = setup();
    const errors: unknown[] = [];
    const broken = {
      ...kv,
      get: async () => Promise.reject(new Error("down")),
      set: async () => Promise.reject(new Error("down")),
    };
    const cache = createCache({ kv: broken, onError: (e) => errors.push(e) });
    expect(await cache.remember("x", 1000, async () => 42)).toBe(42);
    expect(errors.length).toBeGreaterThan(0);
  });
});
