/**
 * Issue 14, defect 1 (server side): an op id used again for a different op — a reinstalled app
 * whose store, and so its op counter, started over under the same device id — is refused
 * (OP_ID_REUSED), never answered the first op's result; the same op replayed still is.
 */
import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryRows } from "../../../src/platform/db";
import { createTestApp, type TestApp } from "../../support/app";
import { DB_KINDS } from "../../support/db";
import { createBuilding } from "../../support/fixtures";
import { hlcAt, opId, pull, push } from "./helpers";

describe.each(DB_KINDS)("sync op ids used again on %s", (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ db: kind });
  });
  afterAll(() => t.close());

  /** An install's n-th create of an announcement, numbered as the SDK numbers ops. */
  const install = (stream: string, buildingId: string, titles: string[], at = Date.now()) =>
    titles.map((title, i) => ({
      opId: `${stream}:${i + 1}`,
      type: "create",
      entity: "announcements",
      id: randomUUID(),
      fields: { buildingId, title, body: "x" },
      hlc: hlcAt(at + i, stream),
    }));

  const titles = async (t: TestApp, buildingId: string) =>
    (
      await queryRows<{ title: string }>(
        t.services.database.db,
        sql`select title from announcements where building_id = ${buildingId} order by title`,
      )
    ).map((r) => r.title);

  it("refuses a second install's ops under the first install's ids, and still answers replays of the first", async () => {
    const b = await createBuilding(t.services);
    const stream = opId("phone");
    const first = install(stream, b.id, ["First 1", "First 2", "First 3"]);
    const a = await push(t, b.manager, first, stream);
    expect(a.body.results.map((r) => r.status)).toEqual(["applied", "applied", "applied"]);

    // The app reinstalled: same device id, counter from 1 again, other edits (seqs 1–4).
    const second = install(stream, b.id, ["Second 1", "Second 2", "Second 3", "Second 4"], Date.now() + 10);
    const c = await push(t, b.manager, second, stream);
    expect(c.status).toBe(200);
    expect(c.body.results.slice(0, 3)).toEqual(
      second
        .slice(0, 3)
        .map((op) => expect.objectContaining({ opId: op.opId, status: "rejected", reason: "OP_ID_REUSED" })),
    );
    // seq 4 was never used: it applies.
    expect(c.body.results[3]).toMatchObject({ opId: second[3]!.opId, status: "applied" });
    expect(await titles(t, b.id)).toEqual(["First 1", "First 2", "First 3", "Second 4"]);

    // A refused op was not recorded: it stays refused, and the first install's replays still get
    // their own first answers, byte for byte.
    const again = await push(t, b.manager, second.slice(0, 3), stream);
    expect(again.body.results.map((r) => r.reason)).toEqual(["OP_ID_REUSED", "OP_ID_REUSED", "OP_ID_REUSED"]);
    const replay = await push(t, b.manager, first, stream);
    expect(replay.body.results).toEqual(a.body.results);
    // A replay with its fields in another key order is the same op.
    const reordered = first.map((op) => ({
      ...op,
      fields: { body: "x", title: op.fields.title, buildingId: b.id },
    }));
    expect((await push(t, b.manager, reordered, stream)).body.results).toEqual(a.body.results);
    expect(await titles(t, b.id)).toEqual(["First 1", "First 2", "First 3", "Second 4"]);
  });

  it("tells every part of an op apart: kind, entity, row id, clock, fields", async () => {
    const b = await createBuilding(t.services);
    const id = randomUUID();
    const base = {
      opId: opId("one"),
      type: "update",
      entity: "announcements",
      id,
      fields: { title: "T" },
      hlc: hlcAt(Date.now()),
    };
    const created = await push(t, b.manager, [
      {
        opId: opId("c"),
        type: "create",
        entity: "announcements",
        id,
        fields: { buildingId: b.id, title: "T0", body: "x" },
        hlc: hlcAt(Date.now() - 1000),
      },
    ]);
    expect(created.body.results[0]!.status).toBe("applied");
    const first = await push(t, b.manager, [base]);
    expect(first.body.results[0]!.status).toBe("applied");
    const variants = [
      { ...base, type: "delete", fields: undefined },
      { ...base, entity: "apartments" },
      { ...base, id: randomUUID() },
      { ...base, hlc: hlcAt(Date.now() + 5) },
      { ...base, fields: { title: "T2" } },
      { ...base, fields: { title: "T", body: "y" } },
      { ...base, fields: { title: 1 } },
      { ...base, fields: { priority: "T" } },
    ];
    const res = await push(t, b.manager, variants);
    expect(res.body.results.map((r) => r.reason)).toEqual(variants.map(() => "OP_ID_REUSED"));
    expect((await push(t, b.manager, [base])).body.results).toEqual(first.body.results);
    const [row] = await queryRows<{ title: string; deleted_at: unknown }>(
      t.services.database.db,
      sql`select title, deleted_at from announcements where id = ${id}`,
    );
    expect(row).toEqual({ title: "T", deleted_at: null });
  });

  it("answers a copy inside one batch like the first, and another op under its id OP_ID_REUSED", async () => {
    const b = await createBuilding(t.services);
    const [op] = install(opId("dup"), b.id, ["Once"]);
    const other = { ...op!, id: randomUUID(), fields: { ...op!.fields, title: "Other" } };
    const res = await push(t, b.manager, [op, op, other]);
    expect(res.body.results[0]).toMatchObject({ status: "applied" });
    expect(res.body.results[1]).toEqual(res.body.results[0]);
    expect(res.body.results[2]).toMatchObject({ opId: op!.opId, status: "rejected", reason: "OP_ID_REUSED" });
    expect(await titles(t, b.id)).toEqual(["Once"]);
  });

  it("refuses a reused id whichever way the server learns of the first op (concurrent pushes)", async () => {
    const b = await createBuilding(t.services);
    const before = (await pull(t, b.manager, { [b.id]: null })).body.cursors[b.id]!;
    const stream = opId("race");
    const x = install(
      stream,
      b.id,
      Array.from({ length: 20 }, (_, i) => `X ${i}`),
    );
    const y = install(
      stream,
      b.id,
      Array.from({ length: 20 }, (_, i) => `Y ${i}`),
    );
    const [rx, ry] = await Promise.all([push(t, b.manager, x, stream), push(t, b.manager, y, stream)]);
    // Every seq applied exactly one of the two ops; the other was refused, none answered falsely.
    const applied = new Set<string>();
    for (const [i, op] of x.entries()) {
      const pair = [rx.body.results[i]!, ry.body.results[i]!];
      expect(pair.map((r) => r.status).sort()).toEqual(["applied", "rejected"]);
      expect(pair.find((r) => r.status === "rejected")!.reason).toBe("OP_ID_REUSED");
      applied.add(pair[0]!.status === "applied" ? op.fields.title : y[i]!.fields.title);
    }
    expect(await titles(t, b.id)).toEqual([...applied].sort());
    expect((await pull(t, b.manager, { [b.id]: before })).body.changes.announcements?.updated).toHaveLength(
      20,
    );
  });
});
