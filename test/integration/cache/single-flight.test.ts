/**
 * Single-flight never ties one caller to another's fate (issue 14 defect 10): a caller that joined a
 * computation which then failed (the first caller's connection closed, its transaction aborted)
 * computes for itself instead of inheriting the failure, and the failed entry leaves the map.
 */
import { describe, expect, it } from "vitest";
import { createCache } from "../../../src/platform/cache";
import { createMemoryKv } from "../../../src/platform/kv/memory";

describe("cache single-flight", () => {
  it("a joiner of a failed computation computes for itself; the next caller starts afresh", async () => {
    const kv = createMemoryKv();
    const cache = createCache({ kv });
    let fail: ((err: Error) => void) | undefined;
    const first = cache.remember("k", 60_000, () => new Promise<string>((_, reject) => (fail = reject)));
    first.catch(() => {});
    while (!fail) await new Promise((r) => setImmediate(r));
    let joinerCalls = 0;
    const joiner = cache.remember("k", 60_000, async () => {
      joinerCalls++;
      return "joiner's own";
    });
    await new Promise((r) => setImmediate(r)); // the joiner is waiting on the first computation
    fail(new Error("first request's connection closed"));
    await expect(first).rejects.toThrow(/connection closed/);
    expect(await joiner).toBe("joiner's own");
    expect(joinerCalls).toBe(1);
    expect(await cache.remember("k", 60_000, async () => "unused")).toBe("joiner's own");
    await kv.close();
  });
});
