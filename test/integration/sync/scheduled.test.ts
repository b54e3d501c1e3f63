/**
 * Issue 14, defect 5: an announcement scheduled for later is hidden from residents over sync, as
 * over REST, and reaches them in their next delta once it is due and the scheduled job
 * (publishDueAnnouncements, run by both hosts) has given it a new version. Managers see it all
 * along. The job changes no field's clock.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publishDueAnnouncements } from "../../../src/modules/sync/scheduled";
import { SCHEDULED_PUBLISH_INTERVAL_MS, serveStandalone } from "../../../workers/standalone";
import { createTestApp, type TestApp } from "../../support/app";
import { DB_KINDS } from "../../support/db";
import { createBuilding, json, type TestBuilding, type TestUser } from "../../support/fixtures";
import { hlcAt, opId, pull, push } from "./helpers";

describe.each(DB_KINDS)("scheduled announcements over sync on %s", (kind) => {
  let t: TestApp;
  /** The app's clock runs `skew` ms ahead of the wall clock; tests move it forward. */
  let skew = 0;
  const now = () => Date.now() + skew;
  beforeAll(async () => {
    t = await createTestApp({ db: kind, clock: { now: () => new Date(now()) } });
  });
  afterAll(() => t.close());

  const ids = (changes: any, key: "created" | "updated" | "deleted") =>
    (changes.announcements?.[key] ?? []).map((r: any) => (typeof r === "string" ? r : r.id));
  const upserted = (changes: any) => [...ids(changes, "created"), ...ids(changes, "updated")];
  const rowOf = (changes: any, id: string) =>
    [...(changes.announcements?.created ?? []), ...(changes.announcements?.updated ?? [])].find(
      (r: any) => r.id === id,
    );

  const restPost = async (b: TestBuilding, title: string, publishedAt: Date) => {
    const res = await t.request(
      `/api/v1/buildings/${b.id}/announcements`,
      json({ title, body: "over REST", publishedAt: publishedAt.toISOString() }, b.manager.auth),
    );
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  };
  const restList = async (b: TestBuilding, user: TestUser) => {
    const res = await t.request(`/api/v1/buildings/${b.id}/announcements`, { headers: user.auth });
    expect(res.status).toBe(200);
    return ((await res.json()) as { data: Array<{ id: string }> }).data.map((a) => a.id);
  };

  it("hides it from residents until publishedAt, then delivers it in the delta from the old cursor once the job ran", async () => {
    const b = await createBuilding(t.services);
    const c0 = (await pull(t, b.resident, { [b.id]: null })).body.cursors[b.id]!;

    const at = new Date(now() + 90_000);
    const viaSync = randomUUID();
    const pushed = await push(t, b.manager, [
      {
        opId: opId("sched"),
        type: "create",
        entity: "announcements",
        id: viaSync,
        fields: { buildingId: b.id, title: "Lift service", body: "over sync", publishedAt: at.toISOString() },
        hlc: hlcAt(now()),
      },
    ]);
    expect(pushed.body.results[0]!.status).toBe("applied");
    const viaRest = await restPost(b, "Water off", at);

    // Before publishedAt: not in a resident's delta or snapshot; a manager sees both.
    const early = await pull(t, b.resident, { [b.id]: c0 });
    expect(upserted(early.body.changes)).toEqual([]);
    expect(JSON.stringify(early.body)).not.toContain("Lift service");
    expect(JSON.stringify(early.body)).not.toContain("Water off");
    const c1 = early.body.cursors[b.id]!;
    expect(upserted((await pull(t, b.resident, { [b.id]: null })).body.changes)).toEqual([]);
    expect(await restList(b, b.resident)).toEqual([]);
    const manager = await pull(t, b.manager, { [b.id]: null });
    expect(upserted(manager.body.changes).sort()).toEqual([viaSync, viaRest].sort());
    const managerCursor = manager.body.cursors[b.id]!;

    // Not due yet: the job leaves them alone.
    expect(await publishDueAnnouncements(t.services)).toMatchObject({ announcements: 0 });
    expect((await pull(t, b.resident, { [b.id]: c1 })).body.cursors[b.id]).toBe(c1);

    // publishedAt passes. The job gives both a new version, once.
    skew += 120_000;
    expect(await restList(b, b.resident)).toHaveLength(2);
    const summary = await publishDueAnnouncements(t.services);
    expect(summary.announcements).toBeGreaterThanOrEqual(2);
    const late = await pull(t, b.resident, { [b.id]: c1 });
    expect(upserted(late.body.changes).sort()).toEqual([viaSync, viaRest].sort());
    expect(rowOf(late.body.changes, viaSync)).toMatchObject({
      title: "Lift service",
      publishedAt: at.toISOString(),
    });
    expect(rowOf(late.body.changes, viaRest)).toMatchObject({ title: "Water off", body: "over REST" });
    // From the first cursor too, and in a snapshot.
    expect(upserted((await pull(t, b.resident, { [b.id]: c0 })).body.changes).sort()).toEqual(
      [viaSync, viaRest].sort(),
    );
    expect(upserted((await pull(t, b.resident, { [b.id]: null })).body.changes).sort()).toEqual(
      [viaSync, viaRest].sort(),
    );
    const c2 = late.body.cursors[b.id]!;
    await publishDueAnnouncements(t.services);
    expect((await pull(t, b.resident, { [b.id]: c2 })).body.cursors[b.id]).toBe(c2);

    // A manager gets the same rows again, unchanged but for the version.
    const again = await pull(t, b.manager, { [b.id]: managerCursor });
    expect(rowOf(again.body.changes, viaRest)).toEqual({
      ...rowOf(manager.body.changes, viaRest),
      updatedAt: expect.any(String),
    });
  });

  it("leaves last-write-wins as it was: an offline edit newer than the REST write still wins after the job", async () => {
    const b = await createBuilding(t.services);
    const written = now();
    const id = await restPost(b, "Original", new Date(written + 30_000));
    skew += 60_000;
    await publishDueAnnouncements(t.services);
    // Made offline after the REST write, synced after the job ran: it must still win.
    const edit = await push(t, b.manager, [
      {
        opId: opId("lww"),
        type: "update",
        entity: "announcements",
        id,
        fields: { title: "Edited offline" },
        hlc: hlcAt(written + 10_000, "tablet"),
      },
    ]);
    expect(edit.body.results[0]).toMatchObject({ status: "applied" });
    expect(edit.body.results[0]!.superseded).toBeUndefined();
    const snap = await pull(t, b.resident, { [b.id]: null });
    expect(rowOf(snap.body.changes, id)).toMatchObject({ title: "Edited offline" });
  });

  it("takes a published announcement rescheduled for later away from residents, and brings it back when due", async () => {
    const b = await createBuilding(t.services);
    const id = await restPost(b, "Meeting", new Date(now() - 1000));
    const seen = await pull(t, b.resident, { [b.id]: null });
    expect(upserted(seen.body.changes)).toEqual([id]);
    const later = new Date(now() + 60_000);
    const res = await push(t, b.manager, [
      {
        opId: opId("resched"),
        type: "update",
        entity: "announcements",
        id,
        fields: { title: "Meeting (moved)", publishedAt: later.toISOString() },
        hlc: hlcAt(now()),
      },
    ]);
    expect(res.body.results[0]!.status).toBe("applied");
    const hidden = await pull(t, b.resident, { [b.id]: seen.body.cursors[b.id]! });
    expect(ids(hidden.body.changes, "deleted")).toEqual([id]);
    expect(JSON.stringify(hidden.body)).not.toContain("moved");
    skew += 90_000;
    await publishDueAnnouncements(t.services);
    const back = await pull(t, b.resident, { [b.id]: hidden.body.cursors[b.id]! });
    expect(rowOf(back.body.changes, id)).toMatchObject({
      title: "Meeting (moved)",
      publishedAt: later.toISOString(),
    });
  });

  it("is run by the standalone host at start, and every 30 s after", async () => {
    expect(SCHEDULED_PUBLISH_INTERVAL_MS).toBeLessThanOrEqual(30_000);
    const b = await createBuilding(t.services);
    const id = await restPost(b, "Host", new Date(now() + 30_000));
    const before = await pull(t, b.resident, { [b.id]: null });
    expect(upserted(before.body.changes)).toEqual([]);
    skew += 60_000;
    const server = await serveStandalone(t.services, 0);
    await server.close();
    const after = await pull(t, b.resident, { [b.id]: before.body.cursors[b.id]! });
    expect(upserted(after.body.changes)).toEqual([id]);
  });
});
