import { describe, expect, it } from "vitest";
import {
  currentContext,
  newMetrics,
  type RequestContext,
  runWithContext,
  scopedValue,
} from "../../src/context";

describe("scoped values (one AsyncLocalStorage, a slot per module)", () => {
  it("keeps each slot through awaits, nests one inside another, and restores both after", async () => {
    const pending = scopedValue<string[]>("test.pending");
    const request: RequestContext = { correlationId: "req-1", metrics: newMetrics() };
    expect(currentContext()).toBeUndefined();
    expect(pending.get()).toBeUndefined();

    await runWithContext(request, async () => {
      await Promise.resolve();
      expect(currentContext()).toBe(request);
      expect(pending.get()).toBeUndefined();
      const inner = ["a"];
      await pending.run(inner, async () => {
        await new Promise((r) => setTimeout(r, 1));
        // The other slot is still there, and writes to it reach the outer request's object.
        expect(currentContext()).toBe(request);
        currentContext()!.userId = "u-1";
        expect(pending.get()).toBe(inner);
        // A nested run of the same slot shadows it until it returns.
        await pending.run(["b"], async () => expect(pending.get()).toEqual(["b"]));
        expect(pending.get()).toBe(inner);
      });
      expect(pending.get()).toBeUndefined();
      expect(request.userId).toBe("u-1");
    });
    expect(currentContext()).toBeUndefined();
  });

  it("keeps concurrent call trees apart", async () => {
    const slot = scopedValue<number>("test.n");
    const seen = await Promise.all(
      [1, 2, 3].map((n) =>
        slot.run(n, async () => {
          await new Promise((r) => setTimeout(r, 4 - n));
          return slot.get();
        }),
      ),
    );
    expect(seen).toEqual([1, 2, 3]);
  });
});
