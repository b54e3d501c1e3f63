/**
 * PATCH answers carry the new ETag (issue 14, "The API contract"), so a client chains writes
 * without a GET in between: PATCH → ETag → PATCH with If-Match: that ETag → 200, and the tag it
 * replaced is refused (412). The tag is the one GET serves for the same representation.
 */
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { memberships } from "../../../src/db/schema";
import { createTestApp, type TestApp } from "../../support/app";
import { DB_KINDS } from "../../support/db";
import { createBuilding, type TestBuilding } from "../../support/fixtures";
import { call } from "./helpers";

describe.each(DB_KINDS)("PATCH answers carry the new ETag on %s", (kind) => {
  let t: TestApp;
  let b: TestBuilding;
  beforeAll(async () => {
    t = await createTestApp({ db: kind });
    b = await createBuilding(t.services);
  });
  afterAll(() => t.close());

  /** PATCH twice chained by the returned ETag, then once with the superseded tag. */
  async function chain(path: string, first: object, second: object, user = b.manager) {
    const one = await call(t, "PATCH", path, user, first);
    expect(one.status, JSON.stringify(one.body)).toBe(200);
    const tag1 = one.headers.get("etag");
    expect(tag1, `${path}: ETag of the first PATCH`).toMatch(/^"[^"]+"$/);
    const get = await call(t, "GET", path, user);
    expect(get.headers.get("etag"), `${path}: GET serves the tag PATCH returned`).toBe(tag1);

    const two = await call(t, "PATCH", path, user, second, { "if-match": tag1! });
    expect(two.status, JSON.stringify(two.body)).toBe(200);
    const tag2 = two.headers.get("etag");
    expect(tag2).toMatch(/^"[^"]+"$/);
    expect(tag2).not.toBe(tag1);

    const stale = await call(t, "PATCH", path, user, first, { "if-match": tag1! });
    expect(stale.status).toBe(412);
    expect(stale.body.currentEtag).toBe(tag2);
  }

  it("buildings", () => chain(`/buildings/${b.id}`, { name: "Etag One" }, { name: "Etag Two" }));

  it("apartments", () =>
    chain(`/buildings/${b.id}/apartments/${b.apartments[2]!.id}`, { floor: 4 }, { floor: 5 }));

  it("maintenance requests", async () => {
    const r = await call(t, "POST", `/buildings/${b.id}/requests`, b.resident, { title: "Leak" });
    expect(r.status).toBe(201);
    await chain(`/buildings/${b.id}/requests/${r.body.id}`, { title: "Leak 1" }, { title: "Leak 2" });
  });

  it("announcements", async () => {
    const a = await call(t, "POST", `/buildings/${b.id}/announcements`, b.manager, { title: "A", body: "B" });
    expect(a.status).toBe(201);
    await chain(`/buildings/${b.id}/announcements/${a.body.id}`, { title: "A1" }, { title: "A2" });
  });

  it("payments", async () => {
    const p = await call(t, "POST", `/buildings/${b.id}/payments`, b.manager, {
      apartmentId: b.apartments[0]!.id,
      kind: "due",
      amountMinor: 100,
      dueDate: "2026-07-01",
    });
    expect(p.status).toBe(201);
    await chain(`/buildings/${b.id}/payments/${p.body.id}`, { amountMinor: 200 }, { amountMinor: 300 });
  });

  it("the profile and a membership answer their ETag too", async () => {
    const me = await call(t, "PATCH", "/me", b.neighbour, { name: "Neighbour Renamed" });
    expect(me.status).toBe(200);
    expect(me.headers.get("etag")).toMatch(/^"[^"]+"$/);
    expect((await call(t, "GET", "/me", b.neighbour)).headers.get("etag")).toBe(me.headers.get("etag"));

    const [row] = await t.services.database.db
      .select()
      .from(memberships)
      .where(and(eq(memberships.buildingId, b.id), eq(memberships.userId, b.neighbour.id)));
    const member = await call(t, "PATCH", `/buildings/${b.id}/members/${row!.id}`, b.manager, {
      apartmentId: b.apartments[2]!.id,
    });
    expect(member.status, JSON.stringify(member.body)).toBe(200);
    expect(member.headers.get("etag")).toMatch(/^"[^"]+"$/);
  });
});
