/**
 * The push's hand-written op check (wellFormedOp) against OpSchema: it may send an op to zod that
 * zod accepts (zod then decides), but it must never accept an op zod rejects, and it must accept
 * the ops the SDK sends (else it saves nothing).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { OpSchema, wellFormedOp } from "../../src/modules/sync/push";

const uuid = fc.uuid();
const goodOp = fc.record(
  {
    opId: fc.stringMatching(/^[A-Za-z0-9_.:-]{1,128}$/),
    type: fc.constantFrom("create", "update", "delete"),
    entity: fc.string({ minLength: 1, maxLength: 64 }),
    id: uuid,
    fields: fc.dictionary(fc.string(), fc.jsonValue()),
    hlc: fc.string({ maxLength: 100 }),
  },
  { requiredKeys: ["opId", "type", "entity", "id", "hlc"] },
);
const anyValue = fc.oneof(fc.jsonValue(), fc.anything());
const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-fA-F]{${n}}$`));
/** Values at and just past each key's limits. */
const edge: Record<string, fc.Arbitrary<unknown>> = {
  opId: fc.oneof(
    fc.string({ maxLength: 130 }),
    fc.stringMatching(/^[A-Za-z0-9_.:-]{120,130}$/),
    fc.constant(""),
  ),
  type: fc.oneof(fc.constantFrom("Create", "create ", "upsert", ""), fc.string()),
  entity: fc.oneof(fc.constant(""), fc.string({ minLength: 60, maxLength: 70 })),
  id: fc.oneof(
    fc.tuple(hex(8), hex(4), hex(4), hex(4), hex(12)).map((p) => p.join("-")),
    uuid.map((u) => u.toUpperCase()),
    uuid.map((u) => `${u} `),
    fc.constantFrom("00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff"),
  ),
  fields: fc.oneof(fc.constant(null), fc.array(fc.jsonValue()), fc.date(), fc.string(), fc.integer()),
  hlc: fc.oneof(fc.string({ minLength: 98, maxLength: 102 }), fc.integer()),
};
const KEYS = ["opId", "type", "entity", "id", "fields", "hlc"];
// A good op with one key changed to an edge value or anything at all, or one key dropped, or an
// extra key — so the one flaw decides, and every limit is probed.
const mixedOp = fc
  .tuple(
    goodOp,
    fc.constantFrom(...KEYS),
    fc.oneof(...KEYS.map((k) => fc.tuple(fc.constant(k), edge[k]!))),
    anyValue,
    fc.constantFrom("edge", "any", "drop", "extra", "none"),
    fc.constantFrom("extra", "__proto__", "constructor"),
  )
  .map(([good, key, [edgeKey, edgeValue], value, how, extra]) => {
    const op: Record<string, unknown> = { ...good };
    if (how === "edge") op[edgeKey] = edgeValue;
    if (how === "any") op[key] = value;
    if (how === "drop") delete op[key];
    if (how === "extra")
      Object.defineProperty(op, extra, { value, enumerable: true, writable: true, configurable: true });
    return op;
  });
// As a push body delivers them: parsed from JSON text.
const viaJson = (x: unknown) => {
  try {
    return JSON.parse(JSON.stringify(x) ?? "null");
  } catch {
    return x;
  }
};

describe("the push's op check", () => {
  it("never accepts what OpSchema rejects", () => {
    fc.assert(
      fc.property(fc.oneof(mixedOp, anyValue), fc.boolean(), (op, json) => {
        const x = json ? viaJson(op) : op;
        if (wellFormedOp(x)) expect(OpSchema.safeParse(x).success).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it("accepts every op OpSchema accepts in the form the SDK sends", () => {
    fc.assert(
      fc.property(goodOp, (op) => {
        const x = viaJson(op);
        expect(OpSchema.safeParse(x).success).toBe(true);
        expect(wellFormedOp(x)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});
