/**
 * opFingerprint is stored with every recorded op: a replay is answered its first result only if
 * the fingerprint computed now matches the one computed when the op was first recorded, so its
 * output may never change. Pinned values (computed with the implementation of 31497e7) and the
 * base-36 formatting it uses, against Number#toString(36) over the whole 53-bit range.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { base36, opFingerprint } from "../../src/modules/sync/claims";

describe("opFingerprint", () => {
  it("keeps the fingerprints ops were recorded with", () => {
    const ops = [
      {
        type: "create",
        entity: "announcements",
        id: "0f8b6f6e-2d7a-4c53-9a54-3b1d2b9e8c01",
        hlc: "000001732900000000-000000-phone",
        fields: {
          title: "Water off",
          body: "10:00–12:00",
          buildingId: "5b0c9f1e-6f0a-4c2b-8e9d-1a2b3c4d5e6f",
        },
      },
      {
        type: "update",
        entity: "maintenance_requests",
        id: "a3c1e2d4-5b6f-4a7b-8c9d-0e1f2a3b4c5d",
        hlc: "000001765100000000-000042-tablet",
        fields: { status: "in_progress", priority: 3, tags: ["leak", "שלום"], note: null },
      },
      {
        type: "delete",
        entity: "request_comments",
        id: "ffffffff-ffff-4fff-bfff-ffffffffffff",
        hlc: "000000000000000000-000000-x",
      },
      {
        type: "update",
        entity: "announcements",
        id: "00000000-0000-4000-8000-000000000000",
        hlc: "999999999999999999-999999-🙂",
        fields: { z: "", a: { nested: [1, { b: true }] }, m: 1.5e300 },
      },
    ];
    expect(ops.map(opFingerprint)).toEqual(["2gex0za41g8", "1aaav4heupc", "47peutoqnv", "619cdbs3yw"]);
  });

  it("formats in base 36 exactly as Number#toString(36) does, 0 to 2^53 − 1", () => {
    for (const n of [
      0,
      1,
      35,
      36,
      37,
      36 ** 2 - 1,
      36 ** 10,
      2 ** 32,
      2 ** 53 - 1,
      2 ** 53 - 36,
      36 ** 10 * 35 - 1,
    ])
      expect(base36(n)).toBe(n.toString(36));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (n) => {
        expect(base36(n)).toBe(n.toString(36));
      }),
      { numRuns: 2000 },
    );
    // Near the top, where a rounded n / 36 would land on the next integer.
    fc.assert(
      fc.property(fc.integer({ min: 2 ** 47, max: Math.floor(2 ** 53 / 36) }), (k) => {
        expect(base36(k * 36 - 1)).toBe((k * 36 - 1).toString(36));
      }),
      { numRuns: 500 },
    );
  });
});
