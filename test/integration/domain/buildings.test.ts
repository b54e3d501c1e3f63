import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apartments, buildings, memberships, users } from "../../../src/db/schema";
import { createTestApp, type TestApp } from "../../support/app";
import { DB_KINDS } from "../../support/db";
import { createBuilding, createUser } from "../../support/fixtures";
import { auditRows, buildingVersion, call, failAuditsMentioning, NIL_UUID, queryOne } from "./helpers";

const NEW_BUILDING = { name: "Carmel Heights", addressLine: "5 Hanassi Ave", city: "Haifa", country: "IL" };

describe.each(DB_KINDS)("buildings, apartments and members on %s", (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ db: kind });
  });
  afterAll(() => t.close());

  describe("buildings", () => {
    it("lets a platform admin create a building with its first manager, audited together", async () => {
      const admin = await createUser(t.services, { admin: true });
      const manager = await createUser(t.services);
      const res = await call(
        t,
        "POST",
        "/buildings",
        admin,
        { ...NEW_BUILDING, managerUserId: manager.id, currency: "ILS" },
        {
          "x-correlation-id": `create-b-${kind}`,
        },
      );
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ ...NEW_BUILDING, currency: "ILS", syncVersion: 1, deletedAt: null });
      expect(res.headers.get("location")).toBe(`/api/v1/buildings/${res.body.id}`);
      const [membership] = await t.services.database.db
        .select()
        .from(memberships)
        .where(eq(memberships.buildingId, res.body.id));
      expect(membership).toMatchObject({ userId: manager.id, role: "manager", syncVersion: 1 });
      const audit = await auditRows(t, membership!.id);
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({
        action: "membership.create",
        buildingId: res.body.id,
        correlationId: `create-b-${kind}`,
      });
      // The new manager reaches the building at once.
      expect((await call(t, "GET", `/buildings/${res.body.id}`, manager)).status).toBe(200);
    });

    it("refuses non-admins (403) and rolls the building back when the manager does not exist", async () => {
      const b = await createBuilding(t.services);
      expect((await call(t, "POST", "/buildings", b.manager, NEW_BUILDING)).status).toBe(403);
      expect((await call(t, "POST", "/buildings", null, NEW_BUILDING)).status).toBe(401);
      const admin = await createUser(t.services, { admin: true });
      const name = `Rollback ${kind} ${Date.now()}`;
      const res = await call(t, "POST", "/buildings", admin, {
        ...NEW_BUILDING,
        name,
        managerUserId: NIL_UUID,
      });
      expect(res.status).toBe(422);
      const left = await t.services.database.db.select().from(buildings).where(eq(buildings.name, name));
      expect(left).toHaveLength(0);
    });

    it("validates building input strictly", async () => {
      const admin = await createUser(t.services, { admin: true });
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ ...NEW_BUILDING, extra: 1 }, "unrecognized_keys"],
        [{ ...NEW_BUILDING, name: 42 }, "json.name"],
        [{ ...NEW_BUILDING, name: "x".repeat(201) }, "json.name"],
        [{ ...NEW_BUILDING, currency: "usd" }, "json.currency"],
        [{ ...NEW_BUILDING, currency: "XQQ" }, "json.currency"],
        [{ ...NEW_BUILDING, country: "Israel" }, "json.country"],
        [{ ...NEW_BUILDING, timezone: "Mars/Olympus" }, "json.timezone"],
      ];
      for (const [body, expected] of cases) {
        const res = await call(t, "POST", "/buildings", admin, body);
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(res.body.code).toBe("VALIDATION_FAILED");
        expect(JSON.stringify(res.body.errors)).toContain(expected);
      }
    });

    it("lets managers update (bumping the version), residents read, outsiders see nothing", async () => {
      const b = await createBuilding(t.services);
      const outsider = await createUser(t.services);
      const v0 = await buildingVersion(t, b.id);
      const res = await call(t, "PATCH", `/buildings/${b.id}`, b.manager, {
        name: "Renamed",
        postalCode: "3303",
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ name: "Renamed", postalCode: "3303", syncVersion: v0 + 1 });
      expect(await buildingVersion(t, b.id)).toBe(v0 + 1);
      expect((await call(t, "PATCH", `/buildings/${b.id}`, b.resident, { name: "Mine" })).status).toBe(403);
      expect((await call(t, "PATCH", `/buildings/${b.id}`, outsider, { name: "Mine" })).status).toBe(404);
      expect((await call(t, "PATCH", `/buildings/${b.id}`, b.manager, {})).status).toBe(400);
      expect((await call(t, "GET", `/buildings/${b.id}`, b.resident)).body.name).toBe("Renamed");
      expect((await call(t, "GET", `/buildings/${b.id}`, outsider)).status).toBe(404);
    });

    it("honours If-Match on PATCH with the ETag GET served", async () => {
      const b = await createBuilding(t.services);
      const got = await call(t, "GET", `/buildings/${b.id}`, b.manager);
      const tag = got.headers.get("etag")!;
      expect(tag).toBeTruthy();
      expect(got.headers.get("cache-control")).toContain("private");
      const ok = await call(
        t,
        "PATCH",
        `/buildings/${b.id}`,
        b.manager,
        { city: "Akko" },
        { "if-match": tag },
      );
      expect(ok.status).toBe(200);
      const stale = await call(
        t,
        "PATCH",
        `/buildings/${b.id}`,
        b.manager,
        { city: "Acre" },
        { "if-match": tag },
      );
      expect(stale.status).toBe(412);
      expect((await call(t, "GET", `/buildings/${b.id}`, b.manager)).body.city).toBe("Akko");
    });

    it("lists my buildings only, paginated; admins list all", async () => {
      const b1 = await createBuilding(t.services);
      const user = b1.resident;
      const b2 = await createBuilding(t.services);
      await t.services.database.db
        .insert(memberships)
        .values({ buildingId: b2.id, userId: user.id, role: "resident", apartmentId: b2.apartments[2]!.id });
      const first = await call(t, "GET", "/buildings?limit=1", user);
      expect(first.status).toBe(200);
      expect(first.body.pagination).toMatchObject({ total: 2, hasNext: true });
      const second = await call(
        t,
        "GET",
        `/buildings?limit=1&cursor=${first.body.pagination.nextCursor}`,
        user,
      );
      expect([first.body.data[0].id, second.body.data[0].id].sort()).toEqual([b1.id, b2.id].sort());
      expect(second.body.pagination.hasNext).toBe(false);
      const admin = await createUser(t.services, { admin: true });
      const all = await call(t, "GET", "/buildings?limit=100", admin);
      expect(all.body.pagination.total).toBeGreaterThanOrEqual(2);
    });
  });

  describe("apartments", () => {
    it("lets managers create apartments stamped with the new version; numbers are unique", async () => {
      const b = await createBuilding(t.services);
      const v0 = await buildingVersion(t, b.id);
      const res = await call(t, "POST", `/buildings/${b.id}/apartments`, b.manager, {
        number: "4A",
        floor: 4,
        areaSqm: 90,
        rooms: 4,
      });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        number: "4A",
        floor: 4,
        areaSqm: 90,
        rooms: 4,
        buildingId: b.id,
        syncVersion: v0 + 1,
      });
      const dup = await call(t, "POST", `/buildings/${b.id}/apartments`, b.manager, { number: "4A" });
      expect(dup.status).toBe(409);
      expect(dup.body.code).toBe("ALREADY_EXISTS");
      expect(await buildingVersion(t, b.id)).toBe(v0 + 1);
      expect(
        (await call(t, "POST", `/buildings/${b.id}/apartments`, b.resident, { number: "9" })).status,
      ).toBe(403);
      expect(
        (await call(t, "POST", `/buildings/${b.id}/apartments`, b.manager, { number: "9", floor: "2" }))
          .status,
      ).toBe(400);
      expect(
        (await call(t, "POST", `/buildings/${b.id}/apartments`, b.manager, { number: "9", owner: "x" }))
          .status,
      ).toBe(400);
    });

    it("shows residents basic fields of every apartment and details of their own", async () => {
      const b = await createBuilding(t.services);
      await t.services.database.db
        .update(apartments)
        .set({ areaSqm: 70, rooms: 3 })
        .where(eq(apartments.buildingId, b.id));
      const list = await call(t, "GET", `/buildings/${b.id}/apartments`, b.resident);
      expect(list.status).toBe(200);
      expect(list.body.data).toHaveLength(3);
      for (const a of list.body.data) {
        if (a.id === b.apartments[0]!.id) expect(a).toMatchObject({ areaSqm: 70, rooms: 3 });
        else expect(a).not.toHaveProperty("areaSqm");
      }
      const other = await call(t, "GET", `/buildings/${b.id}/apartments/${b.apartments[1]!.id}`, b.resident);
      expect(other.status).toBe(200);
      expect(other.body).not.toHaveProperty("rooms");
      const mgr = await call(t, "GET", `/buildings/${b.id}/apartments/${b.apartments[1]!.id}`, b.manager);
      expect(mgr.body).toMatchObject({ areaSqm: 70, rooms: 3 });
    });

    it("answers 404 for another building's apartment and 400 for a malformed id", async () => {
      const b = await createBuilding(t.services);
      const other = await createBuilding(t.services);
      const foreign = other.apartments[0]!.id;
      expect((await call(t, "GET", `/buildings/${b.id}/apartments/${foreign}`, b.manager)).status).toBe(404);
      expect(
        (await call(t, "PATCH", `/buildings/${b.id}/apartments/${foreign}`, b.manager, { floor: 2 })).status,
      ).toBe(404);
      expect((await call(t, "DELETE", `/buildings/${b.id}/apartments/${foreign}`, b.manager)).status).toBe(
        404,
      );
      const bad = await call(t, "GET", `/buildings/${b.id}/apartments/not-a-uuid`, b.manager);
      expect(bad.status).toBe(400);
      expect(bad.body.code).toBe("VALIDATION_FAILED");
      expect((await call(t, "GET", `/buildings/${other.id}/apartments`, b.manager)).status).toBe(404);
    });

    it("soft-deletes into a tombstone with the new version; occupied apartments refuse (409)", async () => {
      const b = await createBuilding(t.services);
      const occupied = await call(
        t,
        "DELETE",
        `/buildings/${b.id}/apartments/${b.apartments[0]!.id}`,
        b.manager,
      );
      expect(occupied.status).toBe(409);
      const empty = b.apartments[2]!.id;
      expect((await call(t, "DELETE", `/buildings/${b.id}/apartments/${empty}`, b.resident)).status).toBe(
        403,
      );
      const v0 = await buildingVersion(t, b.id);
      expect((await call(t, "DELETE", `/buildings/${b.id}/apartments/${empty}`, b.manager)).status).toBe(204);
      const [row] = await t.services.database.db.select().from(apartments).where(eq(apartments.id, empty));
      expect(row!.deletedAt).toBeInstanceOf(Date);
      expect(row!.syncVersion).toBe(v0 + 1);
      expect((await call(t, "GET", `/buildings/${b.id}/apartments/${empty}`, b.manager)).status).toBe(404);
      // The number is free again once the old apartment is a tombstone.
      expect(
        (await call(t, "POST", `/buildings/${b.id}/apartments`, b.manager, { number: "3" })).status,
      ).toBe(201);
      const patched = await call(
        t,
        "PATCH",
        `/buildings/${b.id}/apartments/${b.apartments[1]!.id}`,
        b.manager,
        { number: "1" },
      );
      expect(patched.status).toBe(409);
    });

    it("deletes an apartment's requests and their comments with it, at the same version", async () => {
      const b = await createBuilding(t.services);
      const empty = b.apartments[2]!.id;
      const opened = await call(t, "POST", `/buildings/${b.id}/requests`, b.manager, {
        apartmentId: empty,
        title: "Broken window",
      });
      expect(opened.status).toBe(201);
      const requestId = opened.body.id as string;
      const commented = await call(
        t,
        "POST",
        `/buildings/${b.id}/requests/${requestId}/comments`,
        b.manager,
        {
          body: "Glazier booked",
        },
      );
      expect(commented.status).toBe(201);
      const v0 = await buildingVersion(t, b.id);
      expect((await call(t, "DELETE", `/buildings/${b.id}/apartments/${empty}`, b.manager)).status).toBe(204);
      const rows = await queryOne<{ r: string; c: string }>(
        t,
        sql`select (select json_build_object('d', deleted_at is not null, 'v', sync_version) from maintenance_requests where id = ${requestId})::text as r,
                (select json_agg(json_build_object('d', deleted_at is not null, 'v', sync_version)) from request_comments where request_id = ${requestId})::text as c`,
      );
      expect(JSON.parse(rows!.r)).toEqual({ d: true, v: v0 + 1 });
      expect(JSON.parse(rows!.c)).toEqual([{ d: true, v: v0 + 1 }]);
      expect((await call(t, "GET", `/buildings/${b.id}/requests/${requestId}`, b.manager)).status).toBe(404);
    });
  });

  describe("members", () => {
    it("lists members for managers only", async () => {
      const b = await createBuilding(t.services);
      const res = await call(t, "GET", `/buildings/${b.id}/members?role=resident`, b.manager);
      expect(res.status).toBe(200);
      expect(res.body.data.map((m: { userId: string }) => m.userId).sort()).toEqual(
        [b.resident.id, b.neighbour.id].sort(),
      );
      expect(res.body.data[0].user).toMatchObject({ name: expect.any(String), email: expect.any(String) });
      expect((await call(t, "GET", `/buildings/${b.id}/members`, b.resident)).status).toBe(403);
    });

    it("invites an unknown email: an invited user plus an audited membership, one transaction", async () => {
      const b = await createBuilding(t.services);
      const email = `new-${kind}-${Date.now()}@example.com`;
      const res = await call(t, "POST", `/buildings/${b.id}/members`, b.manager, {
        email,
        name: "New Neighbour",
        role: "resident",
        apartmentId: b.apartments[2]!.id,
      });
      expect(res.status).toBe(201);
      expect(res.body.invited).toBe(true);
      expect(res.body.member).toMatchObject({
        role: "resident",
        apartmentId: b.apartments[2]!.id,
        user: { email, status: "invited" },
      });
      const [user] = await t.services.database.db.select().from(users).where(eq(users.email, email));
      expect(user!.status).toBe("invited");
      expect(user!.passwordHash.startsWith("$argon2")).toBe(false);
      const audit = await auditRows(t, res.body.member.id);
      expect(audit.map((a) => a.action)).toEqual(["membership.create"]);
      expect((audit[0]!.changes as { after: { role: string } }).after.role).toBe("resident");
      const again = await call(t, "POST", `/buildings/${b.id}/members`, b.manager, {
        email,
        role: "resident",
        apartmentId: b.apartments[2]!.id,
      });
      expect(again.status).toBe(409);
    });

    it("adds an existing user by id and checks placement", async () => {
      const b = await createBuilding(t.services);
      const other = await createBuilding(t.services);
      const user = await createUser(t.services);
      const noApt = await call(t, "POST", `/buildings/${b.id}/members`, b.manager, {
        userId: user.id,
        role: "resident",
      });
      expect(noApt.status).toBe(422);
      const foreignApt = await call(t, "POST", `/buildings/${b.id}/members`, b.manager, {
        userId: user.id,
        role: "resident",
        apartmentId: other.apartments[0]!.id,
      });
      expect(foreignApt.status).toBe(404);
      const both = await call(t, "POST", `/buildings/${b.id}/members`, b.manager, {
        userId: user.id,
        email: "a@b.co",
        role: "manager",
      });
      expect(both.status).toBe(400);
      const ok = await call(t, "POST", `/buildings/${b.id}/members`, b.manager, {
        userId: user.id,
        role: "manager",
      });
      expect(ok.status).toBe(201);
      expect(ok.body.invited).toBe(false);
      expect((await call(t, "GET", `/buildings/${b.id}/members`, user)).status).toBe(200);
      expect(
        (
          await call(t, "POST", `/buildings/${b.id}/members`, b.resident, {
            userId: user.id,
            role: "manager",
          })
        ).status,
      ).toBe(403);
    });

    it("changes roles with before/after audit and never drops the last manager", async () => {
      const b = await createBuilding(t.services);
      const [mine] = await t.services.database.db
        .select()
        .from(memberships)
        .where(and(eq(memberships.buildingId, b.id), eq(memberships.userId, b.manager.id)));
      const demote = await call(t, "PATCH", `/buildings/${b.id}/members/${mine!.id}`, b.manager, {
        role: "resident",
        apartmentId: b.apartments[2]!.id,
      });
      expect(demote.status).toBe(409);
      expect((await call(t, "DELETE", `/buildings/${b.id}/members/${mine!.id}`, b.manager)).status).toBe(409);

      const [res] = await t.services.database.db
        .select()
        .from(memberships)
        .where(and(eq(memberships.buildingId, b.id), eq(memberships.userId, b.resident.id)));
      const v0 = await buildingVersion(t, b.id);
      const promote = await call(t, "PATCH", `/buildings/${b.id}/members/${res!.id}`, b.manager, {
        role: "manager",
      });
      expect(promote.status).toBe(200);
      expect(promote.body).toMatchObject({ role: "manager", syncVersion: v0 + 1 });
      const audit = await auditRows(t, res!.id);
      expect(audit.at(-1)).toMatchObject({ action: "membership.update" });
      expect(audit.at(-1)!.changes).toMatchObject({
        before: { role: "resident" },
        after: { role: "manager" },
      });
      // Now two managers: the first may step down.
      expect((await call(t, "DELETE", `/buildings/${b.id}/members/${mine!.id}`, b.manager)).status).toBe(204);
      expect((await call(t, "GET", `/buildings/${b.id}`, b.manager)).status).toBe(404);
      const removed = await auditRows(t, mine!.id);
      expect(removed.at(-1)).toMatchObject({ action: "membership.delete" });
      expect((removed.at(-1)!.changes as { after: { deletedAt: string } }).after.deletedAt).toBeTruthy();
    });

    it("leaves nothing behind when the audit write fails mid-transaction", async () => {
      const b = await createBuilding(t.services);
      const marker = `failinvite${kind}`;
      await failAuditsMentioning(t, marker);
      const email = `${marker}@example.com`;
      const v0 = await buildingVersion(t, b.id);
      const res = await call(t, "POST", `/buildings/${b.id}/members`, b.manager, { email, role: "manager" });
      expect(res.status).toBe(500);
      expect(JSON.stringify(res.body)).not.toContain("audit store");
      expect(await t.services.database.db.select().from(users).where(eq(users.email, email))).toHaveLength(0);
      expect(await buildingVersion(t, b.id)).toBe(v0);
      const { n } = await queryOne<{ n: number }>(
        t,
        sql`select count(*)::int as n from memberships where building_id = ${b.id}`,
      );
      expect(n).toBe(3);
    });
  });

  it("refuses a 10 MB body with 413 before parsing it", async () => {
    const b = await createBuilding(t.services);
    const res = await call(t, "POST", `/buildings/${b.id}/apartments`, b.manager, {
      number: "x".repeat(10 * 1024 * 1024),
    });
    expect(res.status).toBe(413);
    expect(res.body.code).toBe("PAYLOAD_TOO_LARGE");
  });

  it("documents every domain route in /openapi.json", async () => {
    const doc = (await (await t.request("/openapi.json")).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const expected: Array<[string, string]> = [
      ["/api/v1/buildings", "post"],
      ["/api/v1/buildings", "get"],
      ["/api/v1/buildings/{buildingId}", "patch"],
      ["/api/v1/buildings/{buildingId}/apartments/{apartmentId}", "delete"],
      ["/api/v1/buildings/{buildingId}/members/{memberId}", "patch"],
      ["/api/v1/buildings/{buildingId}/requests/{requestId}/comments", "post"],
      ["/api/v1/buildings/{buildingId}/announcements", "get"],
      ["/api/v1/buildings/{buildingId}/payments/{paymentId}", "patch"],
      ["/api/v1/buildings/{buildingId}/apartments/{apartmentId}/balance", "get"],
    ];
    for (const [path, method] of expected)
      expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined();
  });
});
