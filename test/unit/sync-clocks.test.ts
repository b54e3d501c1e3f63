/** The stored form of field clocks (src/modules/sync/clocks.ts) reads back exactly what was packed. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { packClocks, unpackClocks } from "../../src/modules/sync/clocks";

const clock = fc.record({
  h: fc.constantFrom("001764474000000-000000-a", "001764474000001-000003-b", "001764474000002-000000-server"),
  u: fc.constantFrom(null, "9da91d31-64ca-4be7-bd37-f017620a12a7", "0b6f4b1e-8a0e-4c1e-9a55-3f1d2e4c5b6a"),
});
const fields = fc.dictionary(
  fc.constantFrom("title", "body", "priority", "status", "_deleted", "apartmentId", "assignedTo"),
  clock,
);

describe("field clocks as stored", () => {
  it("unpack(pack(clocks)) is clocks, and the shared clock is stored once", () => {
    fc.assert(
      fc.property(fc.nat(), fields, (v, clocks) => {
        const packed = packClocks(v, clocks);
        expect(packed.v).toBe(v);
        expect(unpackClocks(JSON.parse(JSON.stringify(packed)))).toEqual(clocks);
        const shared = packed.d?.k.length ?? 0;
        expect(shared + Object.keys(packed.f).length).toBe(Object.keys(clocks).length);
        // No clock shared by more fields than the one chosen is left spread out in f.
        const counts = new Map<string, number>();
        for (const c of Object.values(packed.f))
          counts.set(`${c.h} ${c.u}`, (counts.get(`${c.h} ${c.u}`) ?? 0) + 1);
        for (const n of counts.values()) expect(n).toBeLessThanOrEqual(Math.max(shared, 1));
      }),
      { numRuns: 1000 },
    );
  });

  it("reads clocks stored in the older form (f only) as they are", () => {
    const f = { title: { h: "001764474000000-000000-a", u: null } };
    expect(unpackClocks({ v: 3, f })).toEqual(f);
  });
});
