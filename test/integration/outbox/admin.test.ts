/**
 * The outbox admin routes and the readiness backlog, through the real app: dead events listed
 * (filters, pages), replayed one by one or by filter and then delivered, stats, and
 * /health/ready degraded past the backlog threshold.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outbox } from "../../../src/db/schema";
import { recordEvents } from "../../../src/modules/outbox/record";
import { HandlerRegistry } from "../../../src/modules/outbox/registry";
import type { InProcessQueue } from "../../../src/platform/queue/in-process";
import { startInProcessQueue } from "../../../workers/outbox-queue";
import { createTestApp, type TestApp } from "../../support/app";
import { DB_KINDS } from "../../support/db";
import { createBuilding, createUser, json, type TestUser } from "../../support/fixtures";
import { waitFor } from "../../support/wait";

describe.each(DB_KINDS)("outbox admin on %s", (kind) => {
  let t: TestApp;
  let admin: TestUser;
  let queue: InProcessQueue;
  const registry = new HandlerRegistry();
  let healthy = false;
  const delivered: string[] = [];

  beforeAll(async () => {
    t = await createTestApp({
      db: kind,
      env: { OUTBOX_BACKLOG_DEGRADED: "3", OUTBOX_BACKLOG_MAX_AGE_SECONDS: "3600" },
    });
    admin = await createUser(t.services, { admin: true });
    for (const topic of ["admin.flaky", "admin.other"]) {
      registry.register(topic, {
        async handle(_p, ctx) {
          if (!healthy) throw new Error(`downstream refused ${ctx.event.id}`);
          delivered.push(ctx.event.id);
        },
      });
    }
    queue = startInProcessQueue(t.services, {
      registry,
      policies: () => ({ retries: 0, delaysMs: [] }),
      pollMs: 100,
    });
  });
  afterAll(async () => {
    await queue?.close();
    await t?.close();
  });

  const row = async (id: string) =>
    (await t.services.database.db.select().from(outbox).where(eq(outbox.id, id)))[0]!;
  const get = (path: string, user: TestUser = admin) => t.request(`/api/v1${path}`, { headers: user.auth });

  it("lists dead events with their last error, filtered and paginated, and replays them", async () => {
    const b = await createBuilding(t.services);
    healthy = false;
    const ids = (
      await recordEvents(t.services.database.db, [
        { topic: "admin.flaky", buildingId: b.id, payload: { n: 1 }, correlationId: "c-1" },
        { topic: "admin.flaky", buildingId: b.id, payload: { n: 2 } },
        { topic: "admin.other", buildingId: b.id, payload: { n: 3 } },
        { topic: "admin.flaky", payload: { n: 4 } },
      ])
    ).map((r) => r.id);
    await queue.wake();
    await waitFor("all dead", async () => (await Promise.all(ids.map(row))).every((r) => r.deadAt));

    const page1 = await get(`/admin/outbox/dead?buildingId=${b.id}&limit=2`);
    expect(page1.status).toBe(200);
    const body1 = await page1.json();
    expect(body1.pagination).toMatchObject({ total: 3, hasNext: true });
    expect(body1.data).toHaveLength(2);
    const page2 = await (await get(`/admin/outbox/dead?buildingId=${b.id}&limit=2&page=2`)).json();
    const listed = [...body1.data, ...page2.data];
    expect(listed.map((e: { id: string }) => e.id).sort()).toEqual(ids.slice(0, 3).sort());
    const first = listed.find((e: { id: string }) => e.id === ids[0]);
    expect(first).toMatchObject({
      topic: "admin.flaky",
      buildingId: b.id,
      payload: { n: 1 },
      correlationId: "c-1",
      attempts: 1,
      lastError: expect.stringContaining("downstream refused"),
    });
    const flaky = await (await get(`/admin/outbox/dead?buildingId=${b.id}&topic=admin.flaky`)).json();
    expect(flaky.data.map((e: { id: string }) => e.id).sort()).toEqual(ids.slice(0, 2).sort());

    const stats = await (await get("/admin/outbox/stats")).json();
    expect(stats.dead).toBeGreaterThanOrEqual(4);
    expect(stats).toMatchObject({ pending: 0, due: 0, oldestDueAgeSeconds: 0, inFlight: 0 });

    // The downstream is back: replay one, then the rest of the building's flaky ones by filter.
    healthy = true;
    const one = await t.request(`/api/v1/admin/outbox/events/${ids[2]}/replay`, {
      method: "POST",
      headers: admin.auth,
    });
    expect(one.status).toBe(202);
    expect(await one.json()).toEqual({ id: ids[2], topic: "admin.other" });
    await waitFor("replayed one", async () => (await row(ids[2]!)).dispatchedAt);

    const many = await t.request(
      "/api/v1/admin/outbox/dead/replay",
      json({ topic: "admin.flaky", buildingId: b.id }, admin.auth),
    );
    expect(many.status).toBe(202);
    expect(await many.json()).toEqual({ replayed: 2 });
    await waitFor(
      "replayed by filter",
      async () => (await row(ids[0]!)).dispatchedAt && (await row(ids[1]!)).dispatchedAt,
    );
    expect(delivered.sort()).toEqual(ids.slice(0, 3).sort());
    // The event of no building was not in the filter: still dead.
    expect((await row(ids[3]!)).deadAt).not.toBeNull();

    // A delivered event can be replayed again; a pending one or an unknown id cannot.
    const again = await t.request(`/api/v1/admin/outbox/events/${ids[2]}/replay`, {
      method: "POST",
      headers: admin.auth,
    });
    expect(again.status).toBe(202);
    await waitFor("delivered twice", async () => delivered.filter((id) => id === ids[2]).length === 2);
    const missing = await t.request(
      "/api/v1/admin/outbox/events/00000000-0000-4000-8000-000000000000/replay",
      {
        method: "POST",
        headers: admin.auth,
      },
    );
    expect(missing.status).toBe(404);
    expect(missing.headers.get("content-type")).toBe("application/problem+json");
    const [later] = await recordEvents(t.services.database.db, [
      { topic: "admin.flaky", payload: {}, availableAt: new Date(Date.now() + 3_600_000) },
    ]);
    const pending = await t.request(`/api/v1/admin/outbox/events/${later!.id}/replay`, {
      method: "POST",
      headers: admin.auth,
    });
    expect(pending.status).toBe(409);
    expect(await pending.json()).toMatchObject({ code: "CONFLICT" });
    await t.services.database.db.delete(outbox).where(eq(outbox.id, later!.id));
  });

  it("refuses the admin routes to a signed-in non-admin (403) and to anonymous callers (401)", async () => {
    const b = await createBuilding(t.services);
    for (const path of ["/admin/outbox/dead", "/admin/outbox/stats"]) {
      expect((await get(path, b.manager)).status).toBe(403);
      expect((await t.request(`/api/v1${path}`)).status).toBe(401);
    }
    const res = await t.request("/api/v1/admin/outbox/dead/replay", json({}, b.manager.auth));
    expect(res.status).toBe(403);
  });

  it("reports /health/ready degraded past the backlog threshold, and ready again once drained", async () => {
    const ready = await t.request("/health/ready");
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: "ready",
      checks: { outbox: { status: "ok", due: 0 } },
    });

    // Held back: rows due now that this process's loop is told to skip (a stopped dispatcher).
    await queue.close();
    healthy = true;
    const rows = await recordEvents(
      t.services.database.db,
      Array.from({ length: 4 }, (_, i) => ({ topic: "admin.other", payload: { i } })),
    );
    const degraded = await t.request("/health/ready");
    expect(degraded.status).toBe(200);
    expect(await degraded.json()).toMatchObject({
      status: "degraded",
      checks: { database: { status: "ok" }, outbox: { status: "degraded", due: 4 } },
    });
    const stats = await (await get("/admin/outbox/stats")).json();
    expect(stats).toMatchObject({ pending: 4, due: 4 });

    queue = startInProcessQueue(t.services, { registry, pollMs: 100 });
    await waitFor("drained", async () =>
      (await Promise.all(rows.map((r) => row(r.id)))).every((r) => r.dispatchedAt),
    );
    expect(await (await t.request("/health/ready")).json()).toMatchObject({ status: "ready" });
  });
});
