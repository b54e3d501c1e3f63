/**
 * The read cache of buildings, apartment lists and profiles (issue 4 item 7): reads are served
 * from the cache (a change made behind the API stays unseen until a write through the API), every
 * write through the API is visible to the next read, views differ per role, answers are the same
 * bytes hit or miss, and invalidation crosses app instances that share one Redis.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apartments, buildings, users } from "../../../src/db/schema";
import type { Database } from "../../../src/platform/db";
import type { Kv } from "../../../src/platform/kv";
import { createRedisKv } from "../../../src/platform/kv/redis";
import { createTestApp, type TestApp } from "../../support/app";
import { createTestDatabase, DB_KINDS } from "../../support/db";
import { REDIS_URL } from "../../support/env";
import { createBuilding, type TestUser } from "../../support/fixtures";

const ENV = { RATE_LIMIT_ENABLED: "false" };

interface Reply {
  status: number;
  text: string;
  body: any;
  etag: string | null;
}

async function call(
  t: TestApp,
  method: string,
  path: string,
  user: TestUser,
  body?: unknown,
): Promise<Reply> {
  const res = await t.request(`/api/v1${path}`, {
    method,
    headers: { ...user.auth, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, text, body: text ? JSON.parse(text) : null, etag: res.headers.get("etag") };
}

/** Changes a row behind the API's back: only a cached read can still show the old value. */
const renameBehind = (t: TestApp, id: string, name: string) =>
  t.services.database.db.update(buildings).set({ name }).where(eq(buildings.id, id));

describe.each(DB_KINDS)("read cache on %s", (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ db: kind, env: ENV });
  });
  afterAll(() => t.close());

  it("serves a building from the cache, identical to the uncached answer, and drops it on write", async () => {
    const b = await createBuilding(t.services);
    const path = `/buildings/${b.id}`;
    const miss = await call(t, "GET", path, b.manager);
    expect(miss.status).toBe(200);
    await renameBehind(t, b.id, "Changed behind the API");
    const hit = await call(t, "GET", path, b.resident);
    // Same bytes and tag whether computed or read back from JSON in the kv (Dates as strings).
    expect(hit.text).toBe(miss.text);
    expect(hit.etag).toBe(miss.etag);

    const patched = await call(t, "PATCH", path, b.manager, { city: "Tel Aviv" });
    expect(patched.status).toBe(200);
    const after = await call(t, "GET", path, b.resident);
    expect(after.body).toMatchObject({ city: "Tel Aviv", name: "Changed behind the API" });
    expect(after.body.syncVersion).toBe(miss.body.syncVersion + 1);
    expect(after.text).toBe(JSON.stringify(patched.body));
  });

  it("shows the new version after a write anywhere in the building (payments, requests)", async () => {
    const b = await createBuilding(t.services);
    const path = `/buildings/${b.id}`;
    const v0 = (await call(t, "GET", path, b.manager)).body.syncVersion;
    const pay = await call(t, "POST", `${path}/payments`, b.manager, {
      apartmentId: b.apartments[0]!.id,
      kind: "due",
      amountMinor: 100,
      dueDate: "2026-07-01",
    });
    expect(pay.status).toBe(201);
    expect((await call(t, "GET", path, b.manager)).body.syncVersion).toBe(v0 + 1);
    expect((await call(t, "POST", `${path}/requests`, b.resident, { title: "Leak" })).status).toBe(201);
    expect((await call(t, "GET", path, b.resident)).body.syncVersion).toBe(v0 + 2);
  });

  it("keeps one apartment list per role view and query, and refreshes it on apartment writes", async () => {
    const b = await createBuilding(t.services);
    const [own, other] = b.apartments;
    await t.services.database.db
      .update(apartments)
      .set({ areaSqm: 80, rooms: 3 })
      .where(eq(apartments.buildingId, b.id));
    const path = `/buildings/${b.id}/apartments`;
    const manager = await call(t, "GET", path, b.manager);
    const resident = await call(t, "GET", path, b.resident);
    const neighbour = await call(t, "GET", path, b.neighbour);
    const area = (r: Reply, id: string) => r.body.data.find((a: { id: string }) => a.id === id)?.areaSqm;
    expect([area(manager, own!.id), area(manager, other!.id)]).toEqual([80, 80]);
    expect([area(resident, own!.id), area(resident, other!.id)]).toEqual([80, undefined]);
    expect([area(neighbour, own!.id), area(neighbour, other!.id)]).toEqual([undefined, 80]);
    expect((await call(t, "GET", `${path}?limit=1`, b.resident)).body.data).toHaveLength(1);
    expect((await call(t, "GET", `${path}?limit=2`, b.resident)).body.data).toHaveLength(2);
    expect((await call(t, "GET", `${path}?floor=9`, b.resident)).body.data).toHaveLength(0);
    // Cached: the same bytes again, even after a change behind the API.
    await t.services.database.db.update(apartments).set({ rooms: 4 }).where(eq(apartments.id, own!.id));
    expect((await call(t, "GET", path, b.manager)).text).toBe(manager.text);

    const created = await call(t, "POST", path, b.manager, { number: "4A", floor: 9 });
    expect(created.status).toBe(201);
    const listed = await call(t, "GET", path, b.resident);
    expect(listed.body.data.map((a: { number: string }) => a.number).sort()).toEqual(["1", "2", "3", "4A"]);
    expect((await call(t, "GET", `${path}?floor=9`, b.resident)).body.data).toHaveLength(1);
    const edited = await call(t, "PATCH", `${path}/${created.body.id}`, b.manager, { number: "4B" });
    expect(edited.status).toBe(200);
    expect((await call(t, "GET", `${path}?floor=9`, b.manager)).body.data[0]).toMatchObject({ number: "4B" });
    expect((await call(t, "DELETE", `${path}/${created.body.id}`, b.manager)).status).toBeLessThan(300);
    expect((await call(t, "GET", `${path}?floor=9`, b.manager)).body.data).toHaveLength(0);
    // A resident moved to another apartment sees that apartment's details at once.
    const members = await call(t, "GET", `/buildings/${b.id}/members?limit=100`, b.manager);
    const membership = members.body.data.find((m: { userId: string }) => m.userId === b.resident.id);
    const moved = await call(t, "PATCH", `/buildings/${b.id}/members/${membership.id}`, b.manager, {
      apartmentId: b.apartments[2]!.id,
    });
    expect(moved.status).toBe(200);
    const view = await call(t, "GET", path, b.resident);
    expect([area(view, own!.id), area(view, b.apartments[2]!.id)]).toEqual([undefined, 80]);
  });

  it("caches the profile and shows a profile update on the next read", async () => {
    const b = await createBuilding(t.services);
    const me = b.resident;
    const first = await call(t, "GET", "/me", me);
    expect(first.status).toBe(200);
    await t.services.database.db.update(users).set({ phone: "+972500000000" }).where(eq(users.id, me.id));
    const hit = await call(t, "GET", "/me", me);
    expect(hit.text).toBe(first.text);
    expect(hit.etag).toBe(first.etag);
    const patched = await call(t, "PATCH", "/me", me, { name: "Renamed Resident" });
    expect(patched.status).toBe(200);
    const after = await call(t, "GET", "/me", me);
    expect(after.body).toMatchObject({ name: "Renamed Resident", phone: "+972500000000" });
    expect(after.text).toBe(patched.text);
    // Other users' profiles are their own entries.
    expect((await call(t, "GET", "/me", b.neighbour)).body.id).toBe(b.neighbour.id);
  });

  it("never caches a failed read (unknown building, stranger)", async () => {
    const b = await createBuilding(t.services);
    const other = await createBuilding(t.services);
    expect((await call(t, "GET", `/buildings/${b.id}`, other.manager)).status).toBe(404);
    expect((await call(t, "GET", `/buildings/${b.id}/apartments`, other.manager)).status).toBe(404);
    expect((await call(t, "GET", `/buildings/${b.id}`, b.manager)).status).toBe(200);
  });
});

describe.each(DB_KINDS)("read cache shared through Redis by two app instances on %s", (kind) => {
  const prefix = `test:cache:${process.pid}:${Date.now().toString(36)}:${kind}:`;
  let database: Database;
  let kvs: Kv[];
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    database = await createTestDatabase(kind);
    // Two clients on one prefix: two processes sharing a Redis, each with its own single-flight.
    kvs = [createRedisKv({ url: REDIS_URL, prefix }), createRedisKv({ url: REDIS_URL, prefix })];
    a = await createTestApp({ database, kv: kvs[0], env: ENV });
    b = await createTestApp({ database, kv: kvs[1], env: ENV });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await Promise.all(kvs.map((kv) => kv.close()));
    await database.close();
  });

  it("one instance's write invalidates what the other cached", async () => {
    const bld = await createBuilding(a.services);
    const path = `/buildings/${bld.id}`;
    const first = await call(a, "GET", path, bld.manager);
    await renameBehind(a, bld.id, "Behind");
    // b answers from the entry a stored: the cache is shared, not per process.
    expect((await call(b, "GET", path, bld.resident)).text).toBe(first.text);
    const list = await call(a, "GET", `${path}/apartments`, bld.manager);
    expect((await call(b, "GET", `${path}/apartments`, bld.manager)).text).toBe(list.text);

    expect((await call(b, "PATCH", path, bld.manager, { city: "Eilat" })).status).toBe(200);
    expect((await call(a, "GET", path, bld.resident)).body).toMatchObject({ city: "Eilat", name: "Behind" });
    expect((await call(b, "POST", `${path}/apartments`, bld.manager, { number: "9" })).status).toBe(201);
    expect((await call(a, "GET", `${path}/apartments`, bld.manager)).body.pagination.total).toBe(4);

    const me = await call(a, "GET", "/me", bld.neighbour);
    expect((await call(b, "PATCH", "/me", bld.neighbour, { name: "New Name" })).status).toBe(200);
    const again = await call(a, "GET", "/me", bld.neighbour);
    expect(again.body.name).toBe("New Name");
    expect(again.body.id).toBe(me.body.id);
  });
});
