import { count, type SQL, sql } from "drizzle-orm";
import { integer, pgTable, text } from "drizzle-orm/pg-core";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiError } from "../../../src/errors";
import { type PaginationQuery, paginate } from "../../../src/http/pagination";
import type { Database } from "../../../src/platform/db";
import { createTestApp } from "../../support/app";
import { createTestDatabase } from "../../support/db";
import { createBuilding, tokenFor } from "../../support/fixtures";

const rowsTable = pgTable("prop8_rows", { id: text("id").primaryKey(), k: integer("k").notNull() });
type Row = { id: string; k: number };
const SECRET = "property-8-secret-property-8-secret";
/** The lifetime documented in src/http/pagination.ts, restated so a changed TTL is noticed. */
const CURSOR_TTL_MS = 24 * 60 * 60 * 1000;

describe("Property 8: Pagination support", () => {
  let database: Database;
  beforeAll(async () => {
    database = await createTestDatabase("pglite");
    await database.db.execute(sql`create table prop8_rows (id text primary key, k integer not null)`);
  });
  afterAll(() => database.close());

  const load = async (rows: Row[]) => {
    await database.db.execute(sql`delete from prop8_rows`);
    if (rows.length) await database.db.insert(rowsTable).values(rows);
  };
  const page = (query: Partial<PaginationQuery>, direction: "asc" | "desc", scope = "prop8", now?: Date) =>
    paginate<Row>({
      query: { limit: 20, ...query } as PaginationQuery,
      scope,
      secret: SECRET,
      ...(now ? { now } : {}),
      sort: { column: rowsTable.k, id: rowsTable.id, direction, key: (r) => r.k },
      fetch: ({ where, orderBy, limit, offset }) =>
        database.db
          .select()
          .from(rowsTable)
          .where(where as SQL | undefined)
          .orderBy(...orderBy)
          .limit(limit)
          .offset(offset),
      count: async (where) => (await database.db.select({ n: count() }).from(rowsTable).where(where))[0]!.n,
    });

  const rowsArb = fc.uniqueArray(
    fc.record({ id: fc.stringMatching(/^[a-z0-9]{1,6}$/), k: fc.integer({ min: 0, max: 5 }) }),
    {
      selector: (r) => r.id,
      maxLength: 40,
    },
  );

  it("Property 8: cursor and offset modes return every row once in (key, id) order with correct total, hasNext and hasPrev", async () => {
    await fc.assert(
      fc.asyncProperty(
        rowsArb,
        fc.integer({ min: 1, max: 12 }),
        fc.constantFrom("asc", "desc"),
        async (rows, limit, dir) => {
          await load(rows);
          const sorted = [...rows].sort(
            (a, b) =>
              (a.k - b.k) * (dir === "asc" ? 1 : -1) ||
              (a.id < b.id ? (dir === "asc" ? -1 : 1) : a.id > b.id ? (dir === "asc" ? 1 : -1) : 0),
          );
          // Offset mode, page by page.
          const pages = Math.max(1, Math.ceil(rows.length / limit));
          for (let p = 1; p <= pages; p++) {
            const res = await page({ page: p, limit }, dir);
            expect(res.pagination).toMatchObject({
              total: rows.length,
              page: p,
              limit,
              hasPrev: p > 1,
              hasNext: p < pages && rows.length > 0,
            });
            expect(res.data.map((r) => r.id)).toEqual(
              sorted.slice((p - 1) * limit, p * limit).map((r) => r.id),
            );
          }
          // Cursor mode forward from the first page, then back again.
          const seen: string[] = [];
          let res = await page({ limit }, dir);
          seen.push(...res.data.map((r) => r.id));
          const forward = [res];
          while (res.pagination.nextCursor) {
            res = await page({ limit, cursor: res.pagination.nextCursor }, dir);
            expect(res.pagination.hasPrev).toBe(true);
            expect(res.pagination.total).toBe(rows.length);
            seen.push(...res.data.map((r) => r.id));
            forward.push(res);
          }
          expect(seen).toEqual(sorted.map((r) => r.id));
          expect(res.pagination.hasNext).toBe(false);
          if (forward.length > 1) {
            const back = await page({ limit, cursor: res.pagination.prevCursor! }, dir);
            expect(back.data.map((r) => r.id)).toEqual(forward[forward.length - 2]!.data.map((r) => r.id));
            expect(back.pagination.hasNext).toBe(true);
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it("Property 8: a tampered, foreign or garbage cursor is a 400 INVALID_CURSOR, never a 500", async () => {
    await load(Array.from({ length: 30 }, (_, i) => ({ id: `r${String(i).padStart(2, "0")}`, k: i % 3 })));
    const first = await page({ limit: 5 }, "asc");
    const cursor = first.pagination.nextCursor!;
    await fc.assert(
      fc.asyncProperty(
        fc
          .oneof(
            // Not the last character of a segment: its low bits are padding, so some edits decode to the same bytes.
            fc
              .tuple(fc.nat({ max: cursor.indexOf(".") - 2 }), fc.constantFrom(..."ABCxyz019-_."))
              .map(([i, ch]) => cursor.slice(0, i) + ch + cursor.slice(i + 1)),
            fc.string({ minLength: 1, maxLength: 200 }),
          )
          .filter((c) => c !== cursor),
        async (bad) => {
          const err = await page({ limit: 5, cursor: bad }, "asc").then(
            () => null,
            (e: unknown) => e,
          );
          expect(err).toBeInstanceOf(ApiError);
          expect((err as ApiError).code).toBe("INVALID_CURSOR");
          expect((err as ApiError).status).toBe(400);
        },
      ),
      { numRuns: 100 },
    );
    const foreign = await page({ limit: 5, cursor }, "asc", "another-list").then(
      () => null,
      (e: ApiError) => e.code,
    );
    expect(foreign).toBe("INVALID_CURSOR");
  });

  // Cursors are documented as short-lived (24 h): one used after its expiry must be refused, or a
  // leaked cursor would page a list forever. The boundary is inclusive: at exactly e it still works.
  it("Property 8: a cursor is accepted until its expiry and refused with INVALID_CURSOR after it", async () => {
    await load(Array.from({ length: 12 }, (_, i) => ({ id: `e${String(i).padStart(2, "0")}`, k: i % 4 })));
    const minted = new Date(Date.UTC(2025, 5, 1, 8, 0, 0));
    const first = await page({ limit: 4 }, "asc", "prop8", minted);
    const cursor = first.pagination.nextCursor!;
    expect(cursor).toBeTruthy();
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.constantFrom(0, CURSOR_TTL_MS - 1, CURSOR_TTL_MS, CURSOR_TTL_MS + 1),
          fc.integer({ min: 0, max: 3 * CURSOR_TTL_MS }),
        ),
        async (age) => {
          const outcome = await page(
            { limit: 4, cursor },
            "asc",
            "prop8",
            new Date(minted.getTime() + age),
          ).then(
            (res) => res,
            (e: unknown) => e,
          );
          if (age <= CURSOR_TTL_MS) {
            expect(outcome, `age ${age} ms`).not.toBeInstanceOf(Error);
            expect((outcome as Awaited<ReturnType<typeof page>>).data.map((r) => r.id)).toEqual([
              "e05",
              "e09",
              "e02",
              "e06",
            ]);
          } else {
            refused++;
            expect(outcome, `age ${age} ms`).toBeInstanceOf(ApiError);
            expect((outcome as ApiError).code).toBe("INVALID_CURSOR");
            expect((outcome as ApiError).message).toMatch(/expired/);
          }
        },
      ),
      { numRuns: 100 },
    );
    // About 40 of 100 runs are past expiry; over 300 seeds the fewest was 23, so 10 is a floor, not a coin toss.
    expect(refused).toBeGreaterThan(10);
  });

  it("an expired cursor on a real list route is a 400 problem+json INVALID_CURSOR", async () => {
    let now = new Date(Date.UTC(2025, 5, 1, 8, 0, 0));
    const t = await createTestApp({ clock: { now: () => now }, env: { RATE_LIMIT_ENABLED: "false" } });
    try {
      const b = await createBuilding(t.services);
      const auth = async () => ({ authorization: `Bearer ${await tokenFor(t.services, b.manager.id)}` });
      // The members list is read uncached: a cached page (apartments) is served for its cache TTL.
      const url = `/api/v1/buildings/${b.id}/members`;
      const first = await t.request(`${url}?limit=1`, { headers: await auth() });
      expect(first.status).toBe(200);
      const cursor = (await first.json()).pagination.nextCursor as string;
      expect(cursor).toBeTruthy();
      const minted = now.getTime();
      now = new Date(minted + CURSOR_TTL_MS);
      const stillValid = await t.request(`${url}?limit=1&cursor=${cursor}`, { headers: await auth() });
      expect(stillValid.status).toBe(200);
      now = new Date(minted + CURSOR_TTL_MS + 1);
      const expired = await t.request(`${url}?limit=1&cursor=${cursor}`, { headers: await auth() });
      expect(expired.status).toBe(400);
      expect(expired.headers.get("content-type")).toBe("application/problem+json");
      const problem = await expired.json();
      expect(problem).toMatchObject({ status: 400, code: "INVALID_CURSOR" });
      expect(problem.detail).toMatch(/expired/);
      expect(problem.correlationId).toBeTruthy();
    } finally {
      await t.close();
    }
  });
});
