/**
 * loadOnce (src/platform/load-once.ts), under the deferred S3 storage, the FCM client and the
 * Worker's argon2id module: one load shared by concurrent callers, a failed load run again by the
 * next call, and `started` showing the load without starting one.
 */
import { describe, expect, it } from "vitest";
import { loadOnce } from "../../src/platform/load-once";

describe("loadOnce", () => {
  it("starts nothing before the first call, then shares one load between concurrent callers", async () => {
    let loads = 0;
    const get = loadOnce(async () => ++loads);
    expect(get.started).toBeUndefined();
    expect(loads).toBe(0);
    const all = await Promise.all([get(), get(), get()]);
    expect(all).toEqual([1, 1, 1]);
    expect(await get.started).toBe(1);
    expect(await get()).toBe(1);
    expect(loads).toBe(1);
  });

  it("forgets a failed load: the next call loads again", async () => {
    let loads = 0;
    const get = loadOnce(async () => {
      if (++loads === 1) throw new Error("first load fails");
      return "ready";
    });
    await expect(get()).rejects.toThrow("first load fails");
    expect(get.started).toBeUndefined();
    await expect(get()).resolves.toBe("ready");
    expect(loads).toBe(2);
  });
});
