import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { maintenanceRequests } from "../../../src/db/schema";
import { createTestApp, type TestApp } from "../../support/app";
import { DB_KINDS } from "../../support/db";
import { createBuilding, createUser, type TestBuilding } from "../../support/fixtures";
import { buildingVersion, call } from "./helpers";

describe.each(DB_KINDS)("maintenance requests on %s", (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ db: kind });
  });
  afterAll(() => t.close());

  const open = (
    b: TestBuilding,
    user = b.resident,
    body: Record<string, unknown> = { title: "Leaking tap" },
  ) => call(t, "POST", `/buildings/${b.id}/requests`, user, body);

  it("lets residents open requests for their own apartment only", async () => {
    const b = await createBuilding(t.services);
    const other = await createBuilding(t.services);
    const v0 = await buildingVersion(t, b.id);
    const mine = await open(b, b.resident, {
      title: "Leaking tap",
      description: "Kitchen",
      priority: "high",
    });
    expect(mine.status).toBe(201);
    expect(mine.body).toMatchObject({
      apartmentId: b.apartments[0]!.id,
      openedBy: b.resident.id,
      status: "open",
      priority: "high",
      syncVersion: v0 + 1,
    });
    const neighbours = await open(b, b.resident, { title: "x", apartmentId: b.apartments[1]!.id });
    expect(neighbours.status).toBe(403);
    const foreign = await open(b, b.resident, { title: "x", apartmentId: other.apartments[0]!.id });
    expect(foreign.status).toBe(404);
    expect(await buildingVersion(t, b.id)).toBe(v0 + 1);
    const outsider = await createUser(t.services);
    expect((await open(b, outsider)).status).toBe(404);
  });

  it("lets managers open for any apartment (which they must name)", async () => {
    const b = await createBuilding(t.services);
    expect((await open(b, b.manager, { title: "Lift" })).status).toBe(422);
    const res = await open(b, b.manager, { title: "Lift", apartmentId: b.apartments[2]!.id });
    expect(res.status).toBe(201);
    expect(res.body.openedBy).toBe(b.manager.id);
  });

  it("validates input: bounds, types, unknown fields", async () => {
    const b = await createBuilding(t.services);
    for (const body of [
      { title: "" },
      { title: "x".repeat(201) },
      { title: "ok", description: "d".repeat(10_001) },
      { title: 5 },
      { title: "ok", status: "resolved" },
      { title: "ok", priority: "whenever" },
      { title: "bad\u0000byte" },
    ]) {
      const res = await open(b, b.resident, body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(res.body.code).toBe("VALIDATION_FAILED");
    }
  });

  it("scopes lists and reads: residents see their apartment's requests, managers all", async () => {
    const b = await createBuilding(t.services);
    const a = await open(b, b.resident, { title: "A" });
    const n = await open(b, b.neighbour, { title: "N" });
    const residentList = await call(t, "GET", `/buildings/${b.id}/requests`, b.resident);
    expect(residentList.body.data.map((r: { id: string }) => r.id)).toEqual([a.body.id]);
    const sneaky = await call(
      t,
      "GET",
      `/buildings/${b.id}/requests?apartmentId=${b.apartments[1]!.id}`,
      b.resident,
    );
    expect(sneaky.body.data).toEqual([]);
    const all = await call(t, "GET", `/buildings/${b.id}/requests`, b.manager);
    expect(all.body.data.map((r: { id: string }) => r.id)).toEqual([n.body.id, a.body.id]);
    const filtered = await call(
      t,
      "GET",
      `/buildings/${b.id}/requests?apartmentId=${b.apartments[1]!.id}`,
      b.manager,
    );
    expect(filtered.body.data.map((r: { id: string }) => r.id)).toEqual([n.body.id]);
    expect((await call(t, "GET", `/buildings/${b.id}/requests/${n.body.id}`, b.resident)).status).toBe(404);
    expect((await call(t, "GET", `/buildings/${b.id}/requests/${n.body.id}`, b.neighbour)).status).toBe(200);
    const other = await createBuilding(t.services);
    expect((await call(t, "GET", `/buildings/${other.id}/requests/${n.body.id}`, other.manager)).status).toBe(
      404,
    );
    expect((await call(t, "GET", `/buildings/${b.id}/requests?status=nope`, b.manager)).status).toBe(400);
  });

  it("walks the status machine and refuses invalid transitions with INVALID_TRANSITION", async () => {
    const b = await createBuilding(t.services);
    const r = await open(b);
    const path = `/buildings/${b.id}/requests/${r.body.id}`;
    const skip = await call(t, "PATCH", path, b.manager, { status: "resolved" });
    expect(skip.status).toBe(409);
    expect(skip.body).toMatchObject({
      code: "INVALID_TRANSITION",
      from: "open",
      to: "resolved",
      allowed: ["in_progress", "rejected"],
    });
    const v0 = await buildingVersion(t, b.id);
    const started = await call(t, "PATCH", path, b.manager, {
      status: "in_progress",
      assignedTo: b.manager.id,
    });
    expect(started.status).toBe(200);
    expect(started.body).toMatchObject({
      status: "in_progress",
      assignedTo: b.manager.id,
      syncVersion: v0 + 1,
    });
    const done = await call(t, "PATCH", path, b.manager, { status: "resolved" });
    expect(done.body.status).toBe("resolved");
    const reopen = await call(t, "PATCH", path, b.manager, { status: "in_progress" });
    expect(reopen.status).toBe(409);
    expect(reopen.body.code).toBe("INVALID_TRANSITION");
    const r2 = await open(b);
    const rejected = await call(t, "PATCH", `/buildings/${b.id}/requests/${r2.body.id}`, b.manager, {
      status: "rejected",
    });
    expect(rejected.body.status).toBe("rejected");
    const outsider = await createUser(t.services);
    const badAssign = await call(t, "PATCH", `/buildings/${b.id}/requests/${r2.body.id}`, b.manager, {
      assignedTo: outsider.id,
    });
    expect(badAssign.status).toBe(422);
  });

  it("lets residents edit title/description of their own open requests only", async () => {
    const b = await createBuilding(t.services);
    const r = await open(b);
    const path = `/buildings/${b.id}/requests/${r.body.id}`;
    const ok = await call(t, "PATCH", path, b.resident, { title: "Leaking tap (bathroom)" });
    expect(ok.status).toBe(200);
    expect(ok.body.title).toBe("Leaking tap (bathroom)");
    const status = await call(t, "PATCH", path, b.resident, { status: "rejected" });
    expect(status.status).toBe(403);
    expect((await call(t, "PATCH", path, b.neighbour, { title: "mine now" })).status).toBe(404);
    await call(t, "PATCH", path, b.manager, { status: "in_progress" });
    const late = await call(t, "PATCH", path, b.resident, { description: "more" });
    expect(late.status).toBe(409);
    const [row] = await t.services.database.db
      .select()
      .from(maintenanceRequests)
      .where(eq(maintenanceRequests.id, r.body.id));
    expect(row!.title).toBe("Leaking tap (bathroom)");
    expect(row!.description).toBe("");
  });

  it("keeps comments to the request's apartment residents and managers", async () => {
    const b = await createBuilding(t.services);
    const r = await open(b);
    const path = `/buildings/${b.id}/requests/${r.body.id}/comments`;
    const v0 = await buildingVersion(t, b.id);
    const c1 = await call(t, "POST", path, b.resident, { body: "It drips all night" });
    expect(c1.status).toBe(201);
    expect(c1.body).toMatchObject({ authorId: b.resident.id, requestId: r.body.id, syncVersion: v0 + 1 });
    expect((await call(t, "POST", path, b.manager, { body: "Plumber on Tuesday" })).status).toBe(201);
    expect((await call(t, "POST", path, b.neighbour, { body: "hi" })).status).toBe(404);
    expect((await call(t, "GET", path, b.neighbour)).status).toBe(404);
    expect((await call(t, "POST", path, b.resident, { body: "" })).status).toBe(400);
    const list = await call(t, "GET", `${path}?limit=1`, b.resident);
    expect(list.body.data[0].body).toBe("It drips all night");
    expect(list.body.pagination).toMatchObject({ total: 2, hasNext: true });
    const next = await call(
      t,
      "GET",
      `${path}?limit=1&cursor=${list.body.pagination.nextCursor}`,
      b.resident,
    );
    expect(next.body.data[0].body).toBe("Plumber on Tuesday");
  });
});
