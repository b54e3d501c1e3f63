/**
 * Issue 14, defect 3 (sync part): a date field pushed over sync is range-checked like the REST
 * routes (src/http/dates.ts, 1900-01-01..9999-12-31 UTC): out of range, the op is rejected
 * INVALID_FIELD with the range in its detail, the rest of the batch applies, never a 500.
 */
import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_DATE, MIN_DATE } from "../../../src/http/dates";
import { queryRows } from "../../../src/platform/db";
import { createTestApp, type TestApp } from "../../support/app";
import { DB_KINDS } from "../../support/db";
import { createBuilding, type TestBuilding } from "../../support/fixtures";
import { hlcAt, opId, push } from "./helpers";

const create = (buildingId: string, publishedAt: unknown) => ({
  opId: opId("date"),
  type: "create",
  entity: "announcements",
  id: randomUUID(),
  fields: { buildingId, title: "Dated", body: "x", publishedAt },
  hlc: hlcAt(Date.now()),
});

describe.each(DB_KINDS)("sync date fields on %s", (kind) => {
  let t: TestApp;
  let b: TestBuilding;
  beforeAll(async () => {
    t = await createTestApp({ db: kind });
    b = await createBuilding(t.services);
  });
  afterAll(() => t.close());

  it("rejects an out-of-range publishedAt with the allowed range and applies the rest of the batch", async () => {
    const outside = [
      "0000-01-01T00:00:00Z",
      "0001-01-01T00:00:00.000Z",
      "1899-12-31T23:59:59.999Z",
      // 9999-12-31 late in the evening west of Greenwich is already year 10000 in UTC.
      "9999-12-31T23:30:00-01:00",
    ];
    const inside = ["1900-01-01T00:00:00Z", "2026-07-01T09:30:00+03:00", "9999-12-31T23:59:59.999Z"];
    const ops = [...outside, ...inside].map((d) => create(b.id, d));
    const res = await push(t, b.manager, ops);
    expect(res.status).toBe(200);
    for (const [i, r] of res.body.results.entries()) {
      if (i < outside.length) {
        expect(r).toMatchObject({ status: "rejected", reason: "INVALID_FIELD" });
        expect(r.detail).toContain("publishedAt");
        expect(r.detail).toContain(MIN_DATE);
        expect(r.detail).toContain(MAX_DATE);
      } else expect(r).toMatchObject({ status: "applied" });
    }
    const rows = await queryRows<{ id: string }>(
      t.services.database.db,
      sql`select id from announcements where building_id = ${b.id}`,
    );
    expect(rows.map((r) => r.id).sort()).toEqual(
      ops
        .slice(outside.length)
        .map((o) => o.id)
        .sort(),
    );
  });

  it("rejects an out-of-range publishedAt in an update, leaving the row as it was", async () => {
    const op = create(b.id, "2026-01-01T00:00:00Z");
    expect((await push(t, b.manager, [op])).body.results[0]!.status).toBe("applied");
    const res = await push(t, b.manager, [
      {
        opId: opId("upd"),
        type: "update",
        entity: "announcements",
        id: op.id,
        fields: { publishedAt: "0000-01-01T00:00:00Z" },
        hlc: hlcAt(Date.now() + 10),
      },
    ]);
    expect(res.status).toBe(200);
    expect(res.body.results[0]).toMatchObject({ status: "rejected", reason: "INVALID_FIELD" });
    const [row] = await queryRows<{ published_at: Date | string }>(
      t.services.database.db,
      sql`select published_at from announcements where id = ${op.id}`,
    );
    expect(new Date(row!.published_at).toISOString()).toBe("2026-01-01T00:00:00.000Z");
  });

  it("never answers 5xx for any date, and applies exactly those in range", async () => {
    const min = Date.parse(`${MIN_DATE}T00:00:00Z`);
    const max = Date.parse(`${MAX_DATE}T23:59:59.999Z`);
    // Any instant JavaScript can hold (years -271821..275760), written as JavaScript writes it
    // (extended years as ±YYYYYY) or as four plain digits, with an offset.
    const date = fc.oneof(
      fc
        .date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true })
        .map((d) => d.toISOString()),
      fc
        .tuple(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: -14, max: 14 }))
        .map(
          ([y, h]) =>
            `${String(y).padStart(4, "0")}-06-15T12:00:00${h < 0 ? "-" : "+"}${String(Math.abs(h)).padStart(2, "0")}:00`,
        ),
      fc.constantFrom("0000-01-01T00:00:00Z", "9999-12-31T23:59:59-12:00", "1900-01-01T00:00:00+14:00"),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(date, { minLength: 1, maxLength: 8 }), async (dates) => {
        const ops = dates.map((d) => create(b.id, d));
        const res = await push(t, b.manager, ops);
        expect(res.status).toBe(200);
        for (const [i, d] of dates.entries()) {
          const ms = /^\d{4}-/.test(d) ? Date.parse(d) : Number.NaN;
          const ok = Number.isFinite(ms) && ms >= min && ms <= max;
          expect(res.body.results[i]).toMatchObject(ok ? { status: "applied" } : { reason: "INVALID_FIELD" });
        }
      }),
      { numRuns: 100 },
    );
  });
});
