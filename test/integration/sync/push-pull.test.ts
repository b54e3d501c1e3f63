import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryRows } from "../../../src/platform/db";
import { createTestApp, type TestApp } from "../../support/app";
import { DB_KINDS } from "../../support/db";
import { createBuilding, createUser, json } from "../../support/fixtures";
import { hlcAt, opId, pull, pullAll, push } from "./helpers";

/** `n` creates of `entity` in a building, with op ids as the SDK forms them (`<stream>:<1..n>`). */
function sequencedCreates(buildingId: string, n: number, entity: string, fields: (i: number) => object) {
  const stream = opId("dev");
  return Array.from({ length: n }, (_, i) => ({
    opId: `${stream}:${i + 1}`,
    type: "create",
    entity,
    id: randomUUID(),
    fields: { buildingId, ...fields(i) },
    hlc: hlcAt(Date.now() + i),
  }));
}

describe.each(DB_KINDS)("sync push and pull on %s", (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ db: kind });
  });
  afterAll(() => t.close());

  it("snapshots, then sends only what changed after the cursor", async () => {
    const b = await createBuilding(t.services);
    const snap = await pull(t, b.manager, { [b.id]: null });
    expect(snap.status).toBe(200);
    expect(snap.body.changes.apartments?.created).toHaveLength(3);
    expect(snap.body.reset).toEqual([b.id]);
    const cursor = snap.body.cursors[b.id]!;

    const id = randomUUID();
    const now = Date.now();
    const pushed = await push(t, b.manager, [
      {
        opId: opId(),
        type: "create",
        entity: "announcements",
        id,
        fields: { buildingId: b.id, title: "Water off", body: "10-12" },
        hlc: hlcAt(now),
      },
    ]);
    expect(pushed.status).toBe(200);
    expect(pushed.body.results[0]).toMatchObject({ status: "applied", version: cursor + 1 });

    const delta = await pull(t, b.resident, { [b.id]: cursor });
    expect(delta.body.changes).toEqual({
      announcements: {
        created: [],
        updated: [expect.objectContaining({ id, title: "Water off", authorId: b.manager.id })],
        deleted: [],
      },
    });
    expect(delta.body.cursors[b.id]).toBe(cursor + 1);
    const empty = await pull(t, b.resident, { [b.id]: cursor + 1 });
    expect(empty.body.changes).toEqual({});
  });

  it("is idempotent by opId: a replay returns the original result and changes nothing", async () => {
    const b = await createBuilding(t.services);
    const id = randomUUID();
    const op = {
      opId: opId(),
      type: "create",
      entity: "maintenance_requests",
      id,
      fields: { buildingId: b.id, apartmentId: b.apartments[0]!.id, title: "Leak" },
      hlc: hlcAt(Date.now(), "res-1"),
    };
    const first = await push(t, b.resident, [op], "res-1");
    const second = await push(t, b.resident, [op], "res-1");
    expect(second.body.results).toEqual(first.body.results);
    const upd = {
      opId: opId(),
      type: "update",
      entity: "maintenance_requests",
      id,
      fields: { title: "Leak!" },
      hlc: hlcAt(Date.now() + 5, "res-1"),
    };
    const a = await push(t, b.resident, [upd, upd], "res-1");
    expect(a.body.results[0]).toEqual(a.body.results[1]);
    const head = (await pull(t, b.manager, { [b.id]: null })).body.cursors[b.id];
    const replay = await push(t, b.resident, [upd], "res-1");
    expect(replay.body.results[0]).toEqual(a.body.results[0]);
    expect((await pull(t, b.manager, { [b.id]: null })).body.cursors[b.id]).toBe(head);
  });

  it("answers a replayed batch from its records in a few statements, not op by op", async () => {
    const b = await createBuilding(t.services);
    const ops = sequencedCreates(b.id, 200, "announcements", (i) => ({ title: `Notice ${i}`, body: "x" }));
    const send = () => t.request("/api/v1/sync/push", json({ deviceId: "dev-a", ops }, b.manager.auth));
    const first = await send();
    const firstBody = await first.json();
    const again = await send();
    expect(await again.json()).toEqual(firstBody);
    // The optimistic attempt, rolled back on the first recorded op, then one look-up: a handful of
    // statements (a replay that fell back to a transaction per op took 604 here).
    const queries = Number(
      /db;[^,]*desc="(\d+) queries"/.exec(again.headers.get("server-timing") ?? "")?.[1],
    );
    expect(queries).toBeGreaterThan(0);
    expect(queries).toBeLessThanOrEqual(12);
  });

  it("replays a batch of different results op by op, and answers records stored whole before", async () => {
    const b = await createBuilding(t.services);
    const other = await createBuilding(t.services);
    const now = Date.now();
    const create = (building: string, i: number) => ({
      opId: opId("mix"),
      type: "create",
      entity: "announcements",
      id: randomUUID(),
      fields: { buildingId: building, title: `Notice ${i}`, body: "x" },
      hlc: hlcAt(now + i),
    });
    // Applied ops share a result; rejections differ from them and from each other.
    const ops = [
      create(b.id, 0),
      { ...create(b.id, 1), entity: "payments" },
      create(b.id, 2),
      create(other.id, 3),
      { ...create(b.id, 4), fields: { buildingId: b.id, title: "T", body: "x", bogus: 1 } },
      create(b.id, 5),
    ];
    const first = await push(t, b.manager, ops);
    expect(first.body.results.map((r) => r.status)).toEqual([
      "applied",
      "rejected",
      "applied",
      "rejected",
      "rejected",
      "applied",
    ]);
    const replay = await push(t, b.manager, [...ops].reverse());
    expect(replay.body.results).toEqual([...first.body.results].reverse());
    // Key order too: a replay answers byte for byte what the first push answered.
    expect(JSON.stringify(replay.body.results[0])).toBe(JSON.stringify(first.body.results.at(-1)));

    // A record from before results were stored without their op id (as migration 0009 carries it
    // over: a run of one) still answers its replay.
    const legacy = {
      opId: opId("legacy"),
      status: "rejected",
      reason: "NOT_FOUND",
      detail: "stored whole",
    };
    await t.services.database.db.execute(
      sql`insert into sync_op_runs (user_id, stream, first_seq, last_seq, device_id, results)
          values (${b.manager.id}, ${legacy.opId}, -1, -1, 'test', ${JSON.stringify({ d: [legacy] })}::json)`,
    );
    const old = await push(t, b.manager, [{ ...create(b.id, 6), opId: legacy.opId }]);
    expect(old.body.results).toEqual([legacy]);
  });

  // Op ids of no sequence are recorded one per op; the SDK's (<stream>:<seq>) in runs.
  const idForms = {
    unsequenced: () => (_: number) => opId("dup"),
    sequenced: () => {
      const stream = opId("dev");
      return (i: number) => `${stream}:${i + 1}`;
    },
  };

  it.each(Object.keys(idForms) as Array<keyof typeof idForms>)(
    "applies a batch sent several times at once exactly once, answering every copy alike (%s op ids)",
    async (form) => {
      const idOf = idForms[form]();
      const b = await createBuilding(t.services);
      const before = (await pull(t, b.manager, { [b.id]: null })).body.cursors[b.id]!;
      const now = Date.now();
      const ops = Array.from({ length: 40 }, (_, i) => ({
        opId: idOf(i),
        type: "create",
        entity: "announcements",
        id: randomUUID(),
        fields: { buildingId: b.id, title: `Notice ${i}`, body: "x" },
        hlc: hlcAt(now + i),
      }));
      // Overlapping copies too: the second half again, then the whole batch in reverse order.
      const copies = [ops, ops, ops.slice(20), [...ops].reverse()];
      const answers = await Promise.all(copies.map((c) => push(t, b.manager, c)));
      for (const a of answers) expect(a.status).toBe(200);
      const byOp = new Map(answers[0]!.body.results.map((r) => [r.opId, r]));
      for (const a of answers) for (const r of a.body.results) expect(r).toEqual(byOp.get(r.opId));
      expect(answers[0]!.body.results.every((r) => r.status === "applied")).toBe(true);
      // One version per batch that applied something; every row exactly once.
      const after = await pull(t, b.manager, { [b.id]: before });
      expect(after.body.changes.announcements?.updated).toHaveLength(40);
      const versions = new Set(answers[0]!.body.results.map((r) => r.version));
      expect(after.body.cursors[b.id]! - before).toBeGreaterThanOrEqual(versions.size);
      expect(await recordedOps(b.manager.id)).toBe(40);
    },
  );

  it("records overlapping batches of rejected ops pushed at once once per op (no building lock orders them)", async () => {
    const b = await createBuilding(t.services);
    // Read-only entity: every op is rejected, so no batch bumps (and locks) a building, and the
    // copies' claims race each other on the op records alone.
    const ops = sequencedCreates(b.id, 40, "payments", () => ({}));
    const copies = [ops, ops.slice(10, 30), ops.slice(20), [...ops].reverse(), ops.slice(0, 25), ops];
    const answers = await Promise.all(copies.map((c) => push(t, b.manager, c)));
    for (const a of answers) expect(a.status).toBe(200);
    const byOp = new Map<string, unknown>();
    for (const a of answers)
      for (const r of a.body.results) {
        expect(r).toMatchObject({ status: "rejected", reason: "READ_ONLY" });
        expect(r).toEqual(byOp.get(r.opId) ?? r);
        byOp.set(r.opId, r);
      }
    expect(byOp.size).toBe(40);
    expect(await recordedOps(b.manager.id)).toBe(40);
  });

  /** Ops recorded for a user: the runs' lengths (the exclusion constraint keeps runs apart). */
  const recordedOps = async (userId: string) => {
    const [row] = await queryRows<{ n: number }>(
      t.services.database.db,
      sql`select coalesce(sum(last_seq - first_seq + 1), 0)::int as n from sync_op_runs where user_id = ${userId}`,
    );
    return row!.n;
  };

  it("resolves concurrent field edits by HLC and records the loser's conflict with an outbox event", async () => {
    const b = await createBuilding(t.services);
    const id = randomUUID();
    const t0 = Date.now();
    await push(
      t,
      b.manager,
      [
        {
          opId: opId(),
          type: "create",
          entity: "announcements",
          id,
          fields: { buildingId: b.id, title: "A", body: "x" },
          hlc: hlcAt(t0, "m1"),
        },
      ],
      "m1",
    );
    const win = await push(
      t,
      b.manager,
      [
        {
          opId: opId(),
          type: "update",
          entity: "announcements",
          id,
          fields: { title: "new" },
          hlc: hlcAt(t0 + 20, "m1"),
        },
      ],
      "m1",
    );
    const lose = await push(
      t,
      b.manager,
      [
        {
          opId: opId(),
          type: "update",
          entity: "announcements",
          id,
          fields: { title: "old", body: "y" },
          hlc: hlcAt(t0 + 10, "m2"),
        },
      ],
      "m2",
    );
    expect(win.body.results[0]!.status).toBe("applied");
    expect(lose.body.results[0]).toMatchObject({ status: "applied", superseded: ["title"] });
    const row = (await pull(t, b.manager, { [b.id]: null })).body.changes.announcements!.created.find(
      (r) => r.id === id,
    );
    expect(row).toMatchObject({ title: "new", body: "y" });
    const res = await t.request("/api/v1/sync/conflicts", { headers: b.manager.auth });
    const page = await res.json();
    expect(page.data[0]).toMatchObject({
      entity: "announcements",
      rowId: id,
      field: "title",
      kind: "lww",
      rule: "field-lww",
      incoming: { value: "old" },
      current: { value: "new" },
    });
  });

  it("rejects bad ops one by one and keeps the valid ones", async () => {
    const b = await createBuilding(t.services);
    const other = await createBuilding(t.services);
    const good = randomUUID();
    const now = Date.now();
    const { status, body } = await push(t, b.resident, [
      { opId: "a1", type: "create", entity: "widgets", id: randomUUID(), fields: {}, hlc: hlcAt(now) },
      {
        opId: "a2",
        type: "create",
        entity: "payments",
        id: randomUUID(),
        fields: { buildingId: b.id },
        hlc: hlcAt(now),
      },
      {
        opId: "a3",
        type: "create",
        entity: "maintenance_requests",
        id: randomUUID(),
        fields: { buildingId: b.id, apartmentId: b.apartments[0]!.id, title: "x", status: "resolved" },
        hlc: hlcAt(now),
      },
      {
        opId: "a4",
        type: "create",
        entity: "announcements",
        id: randomUUID(),
        fields: { buildingId: other.id, title: "x", body: "y" },
        hlc: hlcAt(now),
      },
      {
        opId: "a5",
        type: "create",
        entity: "maintenance_requests",
        id: randomUUID(),
        fields: { buildingId: b.id, apartmentId: b.apartments[1]!.id, title: "neighbour's" },
        hlc: hlcAt(now),
      },
      { nonsense: true },
      {
        opId: "a7",
        type: "create",
        entity: "maintenance_requests",
        id: good,
        fields: { buildingId: b.id, apartmentId: b.apartments[0]!.id, title: "ok" },
        hlc: "garbage",
      },
      {
        opId: "a8",
        type: "create",
        entity: "maintenance_requests",
        id: good,
        fields: { buildingId: b.id, apartmentId: b.apartments[0]!.id, title: "ok" },
        hlc: hlcAt(Date.UTC(3000, 0, 1)),
      },
    ]);
    expect(status).toBe(200);
    expect(body.results.map((r) => r.reason ?? r.status)).toEqual([
      "UNKNOWN_ENTITY",
      "READ_ONLY",
      "FORBIDDEN_FIELD",
      "NOT_FOUND",
      "FORBIDDEN",
      "INVALID_OP",
      "INVALID_HLC",
      "applied",
    ]);
    // The clock from the year 3000 was clamped to the allowed skew.
    const clamped = Number(body.results[7]!.clampedHlc!.slice(0, 15));
    expect(clamped).toBeLessThanOrEqual(Date.now() + t.services.config.SYNC_MAX_CLOCK_SKEW_MS);
  });

  it("leaves a building untouched by a stranger's push, and lets a platform admin write as its manager", async () => {
    const b = await createBuilding(t.services);
    const stranger = await createUser(t.services);
    const admin = await createUser(t.services, { admin: true });
    const version = async () =>
      (
        await queryRows<{ v: string | number; pokes: string | number }>(
          t.services.database.db,
          sql`select sync_version as v, (select count(*) from outbox where building_id = ${b.id}) as pokes from buildings where id = ${b.id}`,
        )
      )[0]!;
    const before = await version();
    const create = (id: string) => ({
      opId: opId(),
      type: "create",
      entity: "announcements",
      id,
      fields: { buildingId: b.id, title: "Notice", body: "Water off at noon" },
      hlc: hlcAt(Date.now()),
    });
    const refused = await push(t, stranger, [create(randomUUID())]);
    expect(refused.body.results[0]).toMatchObject({ status: "rejected", reason: "NOT_FOUND" });
    const after = await version();
    expect(Number(after.v)).toBe(Number(before.v));
    expect(Number(after.pokes)).toBe(Number(before.pokes));

    const id = randomUUID();
    const done = await push(t, admin, [create(id)]);
    expect(done.body.results[0]).toMatchObject({ status: "applied", version: Number(before.v) + 1 });
    const { body } = await pull(t, b.manager, { [b.id]: Number(before.v) });
    expect(body.changes.announcements?.updated.map((r) => r.id)).toEqual([id]);
  });

  it("caps ops per push with 413 and refuses a 100,000-op body", async () => {
    const b = await createBuilding(t.services);
    const op = (i: number) => ({
      opId: `x${i}`,
      type: "delete",
      entity: "announcements",
      id: randomUUID(),
      hlc: hlcAt(1),
    });
    const many = await push(
      t,
      b.manager,
      Array.from({ length: 501 }, (_, i) => op(i)),
    );
    expect(many.status).toBe(413);
    expect(many.body).toMatchObject({ code: "PAYLOAD_TOO_LARGE", maxOps: 500 });
    const huge = await push(
      t,
      b.manager,
      Array.from({ length: 100_000 }, (_, i) => op(i)),
    );
    expect(huge.status).toBe(413);
  });

  it("answers malformed cursors with 400, foreign buildings with an error entry, old cursors with 410", async () => {
    const b = await createBuilding(t.services);
    const stranger = await createUser(t.services);
    for (const bad of [-1, 1.5, "12", { v: 1 }]) {
      const res = await t.request("/api/v1/sync/pull", json({ buildings: { [b.id]: bad } }, b.manager.auth));
      expect(res.status).toBe(400);
    }
    const foreign = await pull(t, stranger, { [b.id]: null });
    expect(foreign.status).toBe(200);
    expect(foreign.body.errors[b.id]).toMatchObject({ code: "NOT_FOUND" });
    expect(foreign.body.changes).toEqual({});
    const ahead = await pull(t, b.manager, { [b.id]: 10_000 });
    expect(ahead.status).toBe(410);
    expect(ahead.body).toMatchObject({ code: "RESNAPSHOT_REQUIRED", buildings: [b.id] });
  });

  it("pages a backlog without splitting a version or losing rows", async () => {
    const b = await createBuilding(t.services);
    const ids: string[] = [];
    for (let batch = 0; batch < 4; batch++) {
      const ops = Array.from({ length: 7 }, (_, i) => {
        const id = randomUUID();
        ids.push(id);
        return {
          opId: opId(),
          type: "create",
          entity: "announcements",
          id,
          fields: { buildingId: b.id, title: `t${batch}-${i}`, body: "b" },
          hlc: hlcAt(Date.now(), "m"),
        };
      });
      await push(t, b.manager, ops, "m");
    }
    const { pages } = await pullAll(t, b.manager, { [b.id]: null }, 5);
    const seen = pages.flatMap((p) =>
      [...(p.changes.announcements?.created ?? []), ...(p.changes.announcements?.updated ?? [])].map(
        (r) => r.id,
      ),
    );
    expect(new Set(seen)).toEqual(new Set(ids));
    expect(seen).toHaveLength(ids.length);
  });

  it("keeps per-entity heads whoever writes, and reads a table it took for quiet once its head moved", async () => {
    const b = await createBuilding(t.services);
    const { db } = t.services.database;
    const query = <R>(q: ReturnType<typeof sql>) => queryRows<R>(db, q);
    const heads = async () =>
      (
        await query<{ heads: Record<string, number> }>(
          sql`select heads from sync_entity_heads where building_id = ${b.id}`,
        )
      )[0]!.heads;
    const snap = await pull(t, b.manager, { [b.id]: null });
    const cursor = snap.body.cursors[b.id]!;
    // The fixture wrote apartments and memberships; payments were never written.
    expect(await heads()).toEqual({ apartments: expect.any(Number), memberships: expect.any(Number) });
    // This process has now seen the building with no payments: the next pull leaves the table out.
    expect((await pull(t, b.manager, { [b.id]: cursor })).body.changes).toEqual({});

    // A payment written with plain SQL, past every app path: the trigger moves the head, and the
    // pull, whose guess leaves payments out, reads them once its answer shows the head moved.
    const version = cursor + 1;
    const id = randomUUID();
    await db.execute(sql`update buildings set sync_version = ${version} where id = ${b.id}`);
    await db.execute(
      sql`insert into payments (id, building_id, apartment_id, kind, amount_minor, currency, recorded_by, sync_version)
          values (${id}, ${b.id}, ${b.apartments[0]!.id}, 'due', 1000, 'ILS', ${b.manager.id}, ${version})`,
    );
    expect((await heads()).payments).toBe(version);
    const delta = await pull(t, b.manager, { [b.id]: cursor });
    expect(delta.body.changes.payments?.updated.map((r) => r.id)).toEqual([id]);
    expect(delta.body.cursors[b.id]).toBe(version);

    // An update (an upsert's update too) moves it on; a write of an older version never lowers it.
    await db.execute(sql`update buildings set sync_version = ${version + 1} where id = ${b.id}`);
    await db.execute(
      sql`insert into payments (id, building_id, apartment_id, kind, amount_minor, currency, recorded_by, sync_version)
          values (${id}, ${b.id}, ${b.apartments[0]!.id}, 'due', 1200, 'ILS', ${b.manager.id}, ${version + 1})
          on conflict (id) do update set amount_minor = excluded.amount_minor, sync_version = excluded.sync_version`,
    );
    expect((await heads()).payments).toBe(version + 1);
    await db.execute(sql`update payments set description = 'old' , sync_version = 1 where id = ${id}`);
    expect((await heads()).payments).toBe(version + 1);
  });

  it("records sync state per user, device and entity", async () => {
    const b = await createBuilding(t.services);
    await pull(
      t,
      b.resident,
      { [b.id]: null },
      { deviceId: "phone-1", pending: { maintenance_requests: 3 } },
    );
    const rows = await queryRows<{ entity_type: string; pending_ops: number; last_sync_at: unknown }>(
      t.services.database.db,
      sql`select entity_type, pending_ops, last_sync_at from sync_state where user_id = ${b.resident.id} and device_id = 'phone-1'`,
    );
    const req = rows.find((r) => r.entity_type === "maintenance_requests");
    expect(req).toMatchObject({ pending_ops: 3 });
    expect(req!.last_sync_at).not.toBeNull();
  });
});

describe.each(DB_KINDS)("sync tombstones and unresolvable conflicts on %s", (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ db: kind });
  });
  afterAll(() => t.close());

  it("purges tombstones and answers older cursors with 410 RESNAPSHOT_REQUIRED", async () => {
    const { purgeTombstones } = await import("../../../src/modules/sync/tombstones");
    const b = await createBuilding(t.services);
    const id = randomUUID();
    const c0 = (await pull(t, b.manager, { [b.id]: null })).body.cursors[b.id]!;
    await push(t, b.manager, [
      {
        opId: opId(),
        type: "create",
        entity: "announcements",
        id,
        fields: { buildingId: b.id, title: "a", body: "b" },
        hlc: hlcAt(Date.now()),
      },
    ]);
    const del = await push(t, b.manager, [
      { opId: opId(), type: "delete", entity: "announcements", id, hlc: hlcAt(Date.now() + 1) },
    ]);
    const delta = await pull(t, b.manager, { [b.id]: c0 });
    expect(delta.body.changes.announcements?.deleted).toEqual([id]);
    expect(await purgeTombstones(t.services.database.db, b.id, del.body.results[0]!.version!)).toBe(1);
    const old = await pull(t, b.manager, { [b.id]: c0 });
    expect(old.status).toBe(410);
    expect(old.body).toMatchObject({ code: "RESNAPSHOT_REQUIRED", status: 410, buildings: [b.id] });
    const fresh = await pull(t, b.manager, { [b.id]: null });
    expect(fresh.status).toBe(200);
  });

  it("reports an edit under a deleted parent as an unresolvable conflict with a notification", async () => {
    const b = await createBuilding(t.services);
    const req = randomUUID();
    const comment = randomUUID();
    const now = Date.now();
    await push(
      t,
      b.resident,
      [
        {
          opId: opId(),
          type: "create",
          entity: "maintenance_requests",
          id: req,
          fields: { buildingId: b.id, apartmentId: b.apartments[0]!.id, title: "Door" },
          hlc: hlcAt(now, "r"),
        },
      ],
      "r",
    );
    await push(
      t,
      b.manager,
      [{ opId: opId(), type: "delete", entity: "maintenance_requests", id: req, hlc: hlcAt(now + 1, "m") }],
      "m",
    );
    const late = await push(
      t,
      b.resident,
      [
        {
          opId: opId(),
          type: "create",
          entity: "request_comments",
          id: comment,
          fields: { buildingId: b.id, requestId: req, body: "any news?" },
          hlc: hlcAt(now + 2, "r"),
        },
        {
          opId: opId(),
          type: "update",
          entity: "maintenance_requests",
          id: req,
          fields: { title: "Front door" },
          hlc: hlcAt(now + 3, "r"),
        },
      ],
      "r",
    );
    expect(late.body.results.map((r) => [r.status, r.reason])).toEqual([
      ["rejected", "PARENT_DELETED"],
      ["superseded", "DELETED"],
    ]);
    const page = await (await t.request("/api/v1/sync/conflicts", { headers: b.resident.auth })).json();
    expect(page.data.map((c: { rule: string; kind: string }) => `${c.kind}/${c.rule}`).sort()).toEqual([
      "lww/delete-wins",
      "unresolvable/parent-deleted",
    ]);
    const events = await queryRows<{ payload: { userId: string } }>(
      t.services.database.db,
      sql`select payload from outbox where topic = 'sync.conflict' and building_id = ${b.id}`,
    );
    expect(events).toHaveLength(2);
    expect(events.every((e) => e.payload.userId === b.resident.id)).toBe(true);
  });
});

describe("sync pull and the rate limiter", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { RATE_LIMIT_WRITE: "2/60s", RATE_LIMIT_READ: "5/60s" } });
  });
  afterAll(() => t.close());

  it("counts a pull against the read budget (a device pulls on every poke), a push against the write budget", async () => {
    const b = await createBuilding(t.services);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await t.request("/api/v1/sync/pull", json({ buildings: { [b.id]: null } }, b.manager.auth));
      statuses.push(res.status);
      if (i === 0) expect(res.headers.get("ratelimit-policy")).toMatch(/^5;w=60/);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    const pushes: number[] = [];
    for (let i = 0; i < 3; i++) pushes.push((await push(t, b.manager, [])).status);
    expect(pushes.slice(-1)).toEqual([429]);
  });
});
