/**
 * The scheduled tombstone purge (src/modules/sync/purge-job.ts) on real data: rows are deleted
 * through the REST routes and sync push, their deletion times moved back with SQL, and clients
 * then pull through the real app to see the floor the purge raised.
 */
import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config";
import { purgeExpiredOpRecords, purgeExpiredTombstones } from "../../src/modules/sync/purge-job";
import { serveStandalone } from "../../workers/standalone";
import { createTestApp, type TestApp, testConfig } from "../support/app";
import { DB_KINDS } from "../support/db";
import { createBuilding, type TestBuilding } from "../support/fixtures";
import { call, queryOne } from "./domain/helpers";
import { hlcAt, opId, pull, push } from "./sync/helpers";

type Table = "announcements" | "maintenance_requests" | "apartments";

async function postAnnouncement(t: TestApp, b: TestBuilding, title = "Water off"): Promise<string> {
  const res = await call(t, "POST", `/buildings/${b.id}/announcements`, b.manager, { title, body: "9-12" });
  expect(res.status).toBe(201);
  return res.body.id;
}

/** Deletes through the REST route; returns the tombstone's version. */
async function deleteAnnouncement(t: TestApp, b: TestBuilding, id: string): Promise<number> {
  expect((await call(t, "DELETE", `/buildings/${b.id}/announcements/${id}`, b.manager)).status).toBe(204);
  return (await row(t, "announcements", id))!.version;
}

/** A resident opens a request over sync push. */
async function openRequest(t: TestApp, b: TestBuilding): Promise<string> {
  const id = randomUUID();
  const res = await push(
    t,
    b.resident,
    [
      {
        opId: opId(),
        type: "create",
        entity: "maintenance_requests",
        id,
        fields: { buildingId: b.id, apartmentId: b.apartments[0]!.id, title: "Leak" },
        hlc: hlcAt(Date.now(), "r"),
      },
    ],
    "r",
  );
  expect(res.body.results[0]).toMatchObject({ status: "applied" });
  return id;
}

/** The manager deletes a request over sync push; returns the tombstone's version. */
async function deleteRequest(t: TestApp, b: TestBuilding, id: string): Promise<number> {
  const res = await push(
    t,
    b.manager,
    [{ opId: opId(), type: "delete", entity: "maintenance_requests", id, hlc: hlcAt(Date.now() + 1, "m") }],
    "m",
  );
  expect(res.body.results[0]).toMatchObject({ status: "applied" });
  return res.body.results[0]!.version!;
}

async function row(t: TestApp, table: Table, id: string) {
  const r = await queryOne<{ version: string | number; deleted: boolean } | undefined>(
    t,
    sql`select sync_version as version, deleted_at is not null as deleted from ${sql.identifier(table)} where id = ${id}`,
  );
  return r ? { version: Number(r.version), deleted: r.deleted } : undefined;
}

/** Moves a tombstone's deletion `days` further into the past. */
async function age(t: TestApp, table: Table, id: string, days: number) {
  await t.services.database.db.execute(
    sql`update ${sql.identifier(table)} set deleted_at = deleted_at - make_interval(days => ${days}) where id = ${id}`,
  );
}

async function floorOf(t: TestApp, buildingId: string): Promise<number | null> {
  const r = await queryOne<{ floor: string | number } | undefined>(
    t,
    sql`select floor_version as floor from sync_tombstone_floors where building_id = ${buildingId}`,
  );
  return r ? Number(r.floor) : null;
}

describe.each(DB_KINDS)("scheduled tombstone purge on %s", (kind) => {
  // The job sweeps every building, so each test gets its own database to count exactly.
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp({ db: kind });
  });
  afterEach(() => t.close());

  it("purges tombstones past the retention, keeps younger ones and live rows, and raises the floor", async () => {
    const b = await createBuilding(t.services);
    const young = await createBuilding(t.services);
    const quiet = await createBuilding(t.services);
    const c0 = (await pull(t, b.manager, { [b.id]: null })).body.cursors[b.id]!;

    const [oldAnn, youngAnn, liveAnn] = [
      await postAnnouncement(t, b, "old"),
      await postAnnouncement(t, b, "young"),
      await postAnnouncement(t, b, "live"),
    ];
    const [oldReq, liveReq] = [await openRequest(t, b), await openRequest(t, b)];
    await deleteAnnouncement(t, b, oldAnn);
    const oldReqVersion = await deleteRequest(t, b, oldReq);
    await deleteAnnouncement(t, b, youngAnn);
    await age(t, "announcements", oldAnn, 31);
    await age(t, "maintenance_requests", oldReq, 31);

    // Only a tombstone inside the retention here, and nothing deleted at all there.
    const youngOnly = await postAnnouncement(t, young);
    await deleteAnnouncement(t, young, youngOnly);
    await age(t, "announcements", youngOnly, 29);
    const [youngFloor, quietFloor] = [await floorOf(t, young.id), await floorOf(t, quiet.id)];

    expect(await purgeExpiredTombstones(t.services)).toEqual({ buildings: 1, purged: 2 });
    expect(t.logs.filter((l) => l.event === "tombstones_purged").at(-1)).toMatchObject({
      level: "info",
      buildings: 1,
      purged: 2,
      failed: 0,
      retentionDays: 30,
    });

    expect(await row(t, "announcements", oldAnn)).toBeUndefined();
    expect(await row(t, "maintenance_requests", oldReq)).toBeUndefined();
    expect(await row(t, "announcements", youngAnn)).toMatchObject({ deleted: true });
    expect(await row(t, "announcements", liveAnn)).toMatchObject({ deleted: false });
    expect(await row(t, "maintenance_requests", liveReq)).toMatchObject({ deleted: false });
    for (const a of b.apartments) expect(await row(t, "apartments", a.id)).toMatchObject({ deleted: false });
    expect(await floorOf(t, b.id)).toBe(oldReqVersion);
    expect(await row(t, "announcements", youngOnly)).toMatchObject({ deleted: true });
    expect(await floorOf(t, young.id)).toBe(youngFloor);
    expect(await floorOf(t, quiet.id)).toBe(quietFloor);

    // A client that last synced before the purged deletions must start over...
    const stale = await pull(t, b.manager, { [b.id]: c0 });
    expect(stale.status).toBe(410);
    expect(stale.body).toMatchObject({ code: "RESNAPSHOT_REQUIRED", buildings: [b.id] });
    // ...a snapshot still works and holds the live rows...
    const snap = await pull(t, b.manager, { [b.id]: null });
    expect(snap.status).toBe(200);
    expect(snap.body.changes.announcements?.created?.map((a: { id: string }) => a.id)).toEqual([liveAnn]);
    // ...and a cursor at the floor still receives the deletion that was kept.
    const atFloor = await pull(t, b.manager, { [b.id]: oldReqVersion });
    expect(atFloor.status).toBe(200);
    expect(atFloor.body.changes.announcements?.deleted).toEqual([youngAnn]);
    expect((await pull(t, young.manager, { [young.id]: 0 })).status).toBe(200);

    // Nothing left to do: a second run purges nothing and moves no floor.
    expect(await purgeExpiredTombstones(t.services)).toEqual({ buildings: 0, purged: 0 });
    expect(await floorOf(t, b.id)).toBe(oldReqVersion);
  });

  it("never purges a tombstone younger than the retention, even one with a lower version", async () => {
    const b = await createBuilding(t.services);
    const first = await postAnnouncement(t, b);
    const second = await postAnnouncement(t, b);
    await deleteAnnouncement(t, b, first);
    const secondVersion = await deleteAnnouncement(t, b, second);
    // Deletion times out of version order: only the later deletion is past the retention.
    await age(t, "announcements", second, 40);
    const before = await floorOf(t, b.id);

    expect(await purgeExpiredTombstones(t.services)).toEqual({ buildings: 0, purged: 0 });
    expect(await row(t, "announcements", first)).toMatchObject({ deleted: true });
    expect(await row(t, "announcements", second)).toMatchObject({ deleted: true });
    expect(await floorOf(t, b.id)).toBe(before);

    await age(t, "announcements", first, 31);
    expect(await purgeExpiredTombstones(t.services)).toEqual({ buildings: 1, purged: 2 });
    expect(await floorOf(t, b.id)).toBe(secondVersion);
  });

  it("uses the retention it is given", async () => {
    const b = await createBuilding(t.services);
    const id = await postAnnouncement(t, b);
    const version = await deleteAnnouncement(t, b, id);
    await age(t, "announcements", id, 3);

    expect(await purgeExpiredTombstones(t.services, { retentionDays: 7 })).toEqual({
      buildings: 0,
      purged: 0,
    });
    const later = new Date(Date.now() + 5 * 24 * 3600 * 1000);
    expect(await purgeExpiredTombstones(t.services, { retentionDays: 7, now: later })).toEqual({
      buildings: 1,
      purged: 1,
    });
    expect(await row(t, "announcements", id)).toBeUndefined();
    expect(await floorOf(t, b.id)).toBe(version);
  });

  it("logs a building that fails and still purges the others", async () => {
    const [broken, fine] = [await createBuilding(t.services), await createBuilding(t.services)];
    const brokenAnn = await postAnnouncement(t, broken);
    const fineAnn = await postAnnouncement(t, fine);
    await deleteAnnouncement(t, broken, brokenAnn);
    const fineVersion = await deleteAnnouncement(t, fine, fineAnn);
    await age(t, "announcements", brokenAnn, 31);
    await age(t, "announcements", fineAnn, 31);
    const brokenFloor = await floorOf(t, broken.id);

    // A real database fault while purging one building: a trigger refuses its deletes.
    const fn = `test_refuse_purge_${kind}`;
    await t.services.database.db.execute(
      sql.raw(`create function ${fn}() returns trigger language plpgsql as $$
        begin
          if old.building_id = '${broken.id}' then raise exception 'disk on fire'; end if;
          return old;
        end $$`),
    );
    await t.services.database.db.execute(
      sql.raw(`create trigger ${fn} before delete on announcements for each row execute function ${fn}()`),
    );
    try {
      expect(await purgeExpiredTombstones(t.services)).toEqual({ buildings: 1, purged: 1 });
    } finally {
      await t.services.database.db.execute(sql.raw(`drop trigger ${fn} on announcements`));
      await t.services.database.db.execute(sql.raw(`drop function ${fn}()`));
    }

    const failure = t.logs.find((l) => l.event === "tombstone_purge_failed" && l.buildingId === broken.id);
    expect(failure).toMatchObject({ level: "warn" });
    expect(String(failure!.cause)).toContain("disk on fire");
    expect(t.logs.filter((l) => l.event === "tombstones_purged").at(-1)).toMatchObject({
      buildings: 1,
      purged: 1,
      failed: 1,
    });
    // The failed building's purge rolled back whole: tombstone kept, floor not raised.
    expect(await row(t, "announcements", brokenAnn)).toMatchObject({ deleted: true });
    expect(await floorOf(t, broken.id)).toBe(brokenFloor);
    expect(await row(t, "announcements", fineAnn)).toBeUndefined();
    expect(await floorOf(t, fine.id)).toBe(fineVersion);

    // The next run picks the failed building up again.
    expect(await purgeExpiredTombstones(t.services)).toEqual({ buildings: 1, purged: 1 });
    expect(await row(t, "announcements", brokenAnn)).toBeUndefined();
  });

  it("purges op records past their retention; a replay then finds its own clocks and is not applied twice", async () => {
    const b = await createBuilding(t.services);
    const reqId = randomUUID();
    const annId = await postAnnouncement(t, b);
    const t0 = Date.now();
    // The SDK's op ids (<stream>:<seq>): the first push is recorded as one run of three ops.
    const stream = opId("m");
    const ops = [
      {
        opId: `${stream}:1`,
        type: "create",
        entity: "maintenance_requests",
        id: reqId,
        fields: { buildingId: b.id, apartmentId: b.apartments[0]!.id, title: "Leak" },
        hlc: hlcAt(t0, "m"),
      },
      {
        opId: `${stream}:2`,
        type: "update",
        entity: "maintenance_requests",
        id: reqId,
        fields: { title: "Big leak" },
        hlc: hlcAt(t0 + 1, "m"),
      },
      { opId: `${stream}:3`, type: "delete", entity: "announcements", id: annId, hlc: hlcAt(t0 + 2, "m") },
    ];
    const first = await push(t, b.manager, ops, "m");
    expect(first.body.results.map((r) => r.status)).toEqual(["applied", "applied", "applied"]);
    // A later edit of another field, whose record stays.
    const young = await push(
      t,
      b.manager,
      [
        {
          ...ops[1]!,
          opId: `${stream}:4`,
          fields: { description: "Under the sink" },
          hlc: hlcAt(t0 + 3, "m"),
        },
      ],
      "m",
    );
    expect(young.body.results[0]).toMatchObject({ status: "applied" });
    const records = async () =>
      (
        await queryOne<{ n: string | number }>(
          t,
          sql`select coalesce(sum(last_seq - first_seq + 1), 0) as n from sync_op_runs where user_id = ${b.manager.id}`,
        )
      ).n;
    expect(Number(await records())).toBe(4);
    const runs = await queryOne<{ n: string | number }>(
      t,
      sql`select count(*) as n from sync_op_runs where user_id = ${b.manager.id}`,
    );
    expect(Number(runs.n)).toBe(2);
    await t.services.database.db.execute(
      sql`update sync_op_runs set created_at = created_at - interval '181 days'
          where user_id = ${b.manager.id} and stream = ${stream} and first_seq = 1`,
    );

    expect(await purgeExpiredOpRecords(t.services)).toBe(3);
    expect(Number(await records())).toBe(1);
    expect(t.logs.filter((l) => l.event === "sync_op_records_purged").at(-1)).toMatchObject({
      purged: 3,
      retentionDays: 180,
    });

    // The device never heard back and sends the same ops again: nothing is applied twice and no
    // edit is reported as lost to itself.
    const conflicts = async () =>
      Number(
        (
          await queryOne<{ n: string | number }>(
            t,
            sql`select count(*) as n from sync_conflicts where user_id = ${b.manager.id}`,
          )
        ).n,
      );
    const conflictsBefore = await conflicts();
    const again = await push(t, b.manager, ops, "m");
    expect(again.body.results.map((r) => r.reason ?? r.status)).toEqual(["applied", "applied", "applied"]);
    expect(await conflicts()).toBe(conflictsBefore);
    // Another create of the same id (a new clock, or another user) is still refused.
    const taken = { ...ops[0]!, opId: opId(), hlc: hlcAt(t0 + 5, "m") };
    expect((await push(t, b.manager, [taken], "m")).body.results[0]).toMatchObject({
      reason: "ALREADY_EXISTS",
    });
    const other = { ...ops[0]!, opId: opId() };
    expect((await push(t, b.resident, [other], "r")).body.results[0]).toMatchObject({
      reason: "ALREADY_EXISTS",
    });
    const title = await queryOne<{ title: string }>(
      t,
      sql`select title from maintenance_requests where id = ${reqId}`,
    );
    expect(title.title).toBe("Big leak");
    expect(await row(t, "announcements", annId)).toMatchObject({ deleted: true });
    expect(await purgeExpiredOpRecords(t.services)).toBe(0);
  });

  it("runs in the standalone host at start; closing waits for it", async () => {
    const b = await createBuilding(t.services);
    const id = await postAnnouncement(t, b);
    const version = await deleteAnnouncement(t, b, id);
    await age(t, "announcements", id, 31);

    const server = await serveStandalone(t.services, 0);
    await server.close();
    expect(await row(t, "announcements", id)).toBeUndefined();
    expect(await floorOf(t, b.id)).toBe(version);
  });
});

describe.each([
  ["SYNC_TOMBSTONE_RETENTION_DAYS", 30],
  ["SYNC_OP_RETENTION_DAYS", 180],
] as const)("%s", (name, fallback) => {
  it(`defaults to ${fallback} days and accepts only whole days from 1`, () => {
    expect(testConfig()[name]).toBe(fallback);
    expect(testConfig({ [name]: "7" })[name]).toBe(7);
    for (const bad of ["0", "-1", "1.5", "soon"])
      expect(() => testConfig({ [name]: bad })).toThrow(ConfigError);
  });
});
