/**
 * Issue 14, defect 2, as a property: whatever unicode a batch of pushed ops carries — NUL, lone
 * surrogates, bidi controls, 4-byte emoji, long strings — the push never answers 5xx, every op
 * holding text the database cannot store is refused INVALID_TEXT, and every valid op of the batch
 * is applied with its text stored exactly (trimmed, as the field's schema trims it).
 */
import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryRows } from "../../../src/platform/db";
import { hlcAt } from "../../integration/sync/helpers";
import { createTestApp, type TestApp } from "../../support/app";
import { DB_KINDS } from "../../support/db";
import { createBuilding, json, type TestBuilding } from "../../support/fixtures";

const RUNS = 100;

/** Characters that break naive text handling, storable or not. */
const HOSTILE = ["\u0000", "\ud800", "\udbff", "\udc00", "\udfff"];
const AWKWARD = [
  "\u202e",
  "\u202c",
  "\u200f",
  "\u061c",
  "\ufeff",
  "😀",
  "👩‍👩‍👧",
  "\ud83d\ude00",
  "𝕳",
  "\u0301",
  "'",
  '"',
  "\\",
];

/** Storable text: any code point but NUL (fast-check's binary unit has no lone surrogates), and awkward ones. */
const cleanUnit = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }).filter((c) => c !== "\u0000"),
  },
  { weight: 1, arbitrary: fc.constantFrom(...AWKWARD) },
);
const clean = (maxLength: number) => fc.string({ unit: cleanUnit, maxLength, size: "large" });
/** Any text: sometimes with lone surrogates and NULs, in any place (two neighbours may pair up). */
const anyText = (maxLength: number) =>
  fc.string({
    unit: fc.oneof(
      { weight: 6, arbitrary: cleanUnit },
      { weight: 1, arbitrary: fc.constantFrom(...HOSTILE) },
    ),
    maxLength,
    size: "large",
  });
/** Text sure to hold something unstorable. */
const poison = fc
  .tuple(clean(40), fc.constantFrom(...HOSTILE), clean(40))
  .map(([a, bad, b]) => `${a}${bad}${b}`)
  .filter((s) => !storable(s));

/** The oracle, written apart from the code under test: well-formed UTF-16 without NUL. */
function storable(s: string): boolean {
  return (s as string & { isWellFormed(): boolean }).isWellFormed() && !s.includes("\u0000");
}
function allStorable(v: unknown): boolean {
  if (typeof v === "string") return storable(v);
  if (Array.isArray(v)) return v.every(allStorable);
  if (v && typeof v === "object") return Object.entries(v).every(([k, x]) => storable(k) && allStorable(x));
  return true;
}

/** At most `n` code points (never splitting a surrogate pair), so a field stays within its bound. */
const codePoints = (s: string, n: number) => Array.from(s).slice(0, n).join("");

type Spec =
  | { kind: "valid"; title: string; body: string }
  | {
      kind: "poisoned";
      where: "title" | "body" | "entity" | "key" | "nested" | "hlc" | "buildingId";
      bad: string;
    }
  | { kind: "garbage"; type: string; entity: string; fields: Record<string, unknown> };

const spec: fc.Arbitrary<Spec> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant("valid" as const), title: clean(80), body: clean(2000) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("poisoned" as const),
      where: fc.constantFrom("title", "body", "entity", "key", "nested", "hlc", "buildingId"),
      bad: poison,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("garbage" as const),
      type: fc.oneof(fc.constantFrom("create", "update", "delete"), anyText(10)),
      entity: fc.oneof(
        fc.constantFrom("announcements", "maintenance_requests", "payments", "apartments"),
        anyText(64),
      ),
      fields: fc.dictionary(
        fc.oneof(fc.constantFrom("title", "body", "priority", "number", "floor"), anyText(20)),
        fc.oneof(anyText(300), fc.integer(), fc.constant(null), fc.array(anyText(20), { maxLength: 3 })),
        { maxKeys: 5 },
      ),
    }),
  },
);

function opOf(s: Spec, b: TestBuilding, opId: string, at: number) {
  const base = {
    opId,
    type: "create",
    entity: "announcements",
    id: randomUUID(),
    fields: { buildingId: b.id, title: "Title", body: "Body" } as Record<string, unknown>,
    hlc: hlcAt(at),
  };
  switch (s.kind) {
    case "valid":
      // Never empty once trimmed (the field requires a character), at most 200 UTF-16 units.
      return {
        ...base,
        fields: { ...base.fields, title: `T${codePoints(s.title, 90)}`, body: `B${s.body}` },
      };
    case "poisoned":
      if (s.where === "entity") return { ...base, entity: s.bad };
      if (s.where === "hlc") return { ...base, hlc: `${base.hlc}${s.bad}` };
      if (s.where === "key") return { ...base, fields: { ...base.fields, [s.bad]: "x" } };
      if (s.where === "nested") return { ...base, fields: { ...base.fields, extra: { deep: [s.bad] } } };
      return { ...base, fields: { ...base.fields, [s.where]: s.bad } };
    case "garbage":
      return {
        ...base,
        type: s.type,
        entity: s.entity,
        fields: s.type === "create" ? { buildingId: b.id, ...s.fields } : s.fields,
      };
  }
}

describe.each(DB_KINDS)("sync push of arbitrary unicode on %s", (kind) => {
  let t: TestApp;
  let b: TestBuilding;
  beforeAll(async () => {
    t = await createTestApp({ db: kind });
    b = await createBuilding(t.services);
  });
  afterAll(() => t.close());

  it("never answers 5xx; refuses exactly the ops holding unstorable text (INVALID_TEXT) and applies every valid op", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(spec, { minLength: 1, maxLength: 12 }), async (specs) => {
        const stream = `uni-${run++}-${randomUUID().slice(0, 8)}`;
        const now = Date.now();
        const ops = specs.map((s, i) => opOf(s, b, `${stream}:${i + 1}`, now + i));
        const res = await t.request("/api/v1/sync/push", json({ deviceId: "dev-u", ops }, b.manager.auth));
        expect(res.status).toBe(200);
        const { results } = (await res.json()) as { results: Array<{ status: string; reason?: string }> };
        expect(results).toHaveLength(ops.length);
        const valid: Array<{ id: string; title: string; body: string }> = [];
        for (const [i, op] of ops.entries()) {
          const s = specs[i]!;
          if (!allStorable(op))
            expect(results[i]).toMatchObject({ status: "rejected", reason: "INVALID_TEXT" });
          else expect(results[i]!.reason).not.toBe("INVALID_TEXT");
          if (s.kind === "valid") {
            expect(results[i]).toMatchObject({ status: "applied" });
            valid.push({
              id: op.id,
              title: String(op.fields.title).trim(),
              body: String(op.fields.body).trim(),
            });
          }
        }
        if (valid.length) {
          const rows = await queryRows<{ id: string; title: string; body: string }>(
            t.services.database.db,
            sql`select id, title, body from announcements
                where id = any(${`{${valid.map((v) => v.id).join(",")}}`}::uuid[])`,
          );
          const byId = new Map(rows.map((r) => [r.id, r]));
          for (const v of valid) expect(byId.get(v.id)).toEqual(v);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
