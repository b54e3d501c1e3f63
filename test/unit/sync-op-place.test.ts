/**
 * Where an op is recorded (opPlace): the SDK's op ids `<stream>:<seq>` land at their seq in their
 * stream, any other id is a stream of its own at -1, and no two op ids share a place — two ids at
 * one place would let one op's record answer for another op (migration 0009 splits stored ids by
 * the same rule, in SQL).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { opPlace } from "../../src/modules/sync/claims";

const opId = fc.stringMatching(/^[A-Za-z0-9_.:-]{1,128}$/);
const stream = fc.stringMatching(/^[A-Za-z0-9_.:-]{1,64}$/);

describe("opPlace", () => {
  it("puts an SDK op id at its seq in its device's stream", () => {
    fc.assert(
      fc.property(stream, fc.nat(), (s, seq) => {
        expect(opPlace(`${s}:${seq}`)).toEqual({ stream: s, seq });
      }),
      { numRuns: 300 },
    );
  });

  it("gives any other op id a stream of its own at seq -1", () => {
    for (const id of ["op-1", "dev:", "dev:01", "dev:-1", "dev:1.5", ":", "dev:12345678901234567"])
      expect(opPlace(id)).toEqual({ stream: id, seq: -1 });
  });

  it("never puts two op ids at one place", () => {
    fc.assert(
      fc.property(opId, opId, (a, b) => {
        fc.pre(a !== b);
        expect(opPlace(a)).not.toEqual(opPlace(b));
      }),
      { numRuns: 1000 },
    );
    // Near misses, which random ids rarely hit.
    const ids = ["x", "x:0", "x:00", "x:1", "x:01", "x:-1", "x:1:1", "x:1:01", "x::1"];
    const places = new Set(ids.map((id) => JSON.stringify(opPlace(id))));
    expect(places.size).toBe(ids.length);
  });
});
