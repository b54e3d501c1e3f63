/**
 * persistBatch records a batch's domain events while PostgreSQL runs its claim statement (the
 * insert queues behind the claim on the transaction's connection). Whatever the timing, the
 * batch commits with its events or not at all: an event that fails its contract fails the write
 * (the claim already ran in the transaction), and a claim that fails throws its own error, not
 * the aborted transaction's error of the insert queued behind it.
 */
import { randomUUID } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { announcements } from "../../../src/db/schema";
import { FANOUT_TOPIC, subscribeToDomainEvents } from "../../../src/modules/events";
import type { BatchState } from "../../../src/modules/sync/apply";
import { Rerun } from "../../../src/modules/sync/claims";
import { persistBatch } from "../../../src/modules/sync/persist";
import type { Work } from "../../../src/modules/sync/working-set";
import { queryRows } from "../../../src/platform/db";
import { createTestApp, type TestApp } from "../../support/app";
import { DB_KINDS } from "../../support/db";
import { createBuilding } from "../../support/fixtures";

describe.each(DB_KINDS)("a sync batch's domain events on %s", (kind) => {
  let t: TestApp;
  const unsubscribe: Array<() => void> = [];
  beforeAll(async () => {
    t = await createTestApp({ db: kind });
    unsubscribe.push(subscribeToDomainEvents({ topic: `test.persist-events.${kind}` }));
  });
  afterAll(async () => {
    for (const u of unsubscribe) u();
    await t.close();
  });

  /** One new announcement, as applyOp leaves it, in a batch at version 1 of its building. */
  async function batch(title: string) {
    const b = await createBuilding(t.services);
    const id = randomUUID();
    const work: Work = {
      entity: "announcements",
      id,
      row: { id, buildingId: b.id, authorId: b.manager.id, title, body: "Water off", priority: "normal" },
      isNew: true,
      dirty: true,
      clocks: {},
      floor: null,
    };
    const state: BatchState = {
      userId: b.manager.id,
      work: new Map([[`announcements:${id}`, work]]),
      access: new Map(),
      versions: new Map([[b.id, 1]]),
      occupied: new Set(),
      conflicts: [],
      deleted: new Map(),
    };
    const opId = `persist-events-${randomUUID()}:1`;
    const results = [
      {
        opId,
        result: { opId, status: "applied" as const, version: 1, buildingId: b.id },
        hlc: "000001765100000000-000000-test",
        fingerprint: "f",
      },
    ];
    const run = () =>
      t.services.database.db.transaction((tx) =>
        persistBatch(
          tx,
          state,
          { userId: b.manager.id, deviceId: "test", correlationId: randomUUID(), now: new Date() },
          results,
          true,
        ),
      );
    const fanouts = async () =>
      (
        await queryRows<{ n: number }>(
          t.services.database.db,
          sql`select count(*)::int as n from outbox where topic = ${FANOUT_TOPIC} and building_id = ${b.id}`,
        )
      )[0]!.n;
    const stored = async () =>
      (await t.services.database.db.select().from(announcements).where(eq(announcements.id, id))).length;
    const recorded = async () =>
      (
        await queryRows<{ n: number }>(
          t.services.database.db,
          sql`select count(*)::int as n from sync_op_runs where user_id = ${b.manager.id} and stream = ${opId.slice(0, -2)}`,
        )
      )[0]!.n;
    return { run, fanouts, stored, recorded };
  }

  it("commits the rows, the op record and the fan-out row together", async () => {
    const b = await batch("Water off on Sunday");
    await expect(b.run()).resolves.toBe(1);
    expect(await b.stored()).toBe(1);
    expect(await b.recorded()).toBe(1);
    expect(await b.fanouts()).toBe(1);
  });

  it("rolls the whole batch back when an event breaks its contract (a title past 1,000 characters)", async () => {
    const b = await batch("x".repeat(1001));
    await expect(b.run()).rejects.toThrow(/1000/);
    expect(await b.stored()).toBe(0);
    expect(await b.recorded()).toBe(0);
    expect(await b.fanouts()).toBe(0);
  });

  it("throws the claim's own error when the claim fails, and writes nothing", async () => {
    const b = await batch("Lift repaired");
    await b.run();
    // The same batch again: its op is recorded (and its row exists), so the strict claim fails
    // and asks for a rerun; the fan-out insert queued behind it fails with the transaction.
    await expect(b.run()).rejects.toBeInstanceOf(Rerun);
    expect(await b.stored()).toBe(1);
    expect(await b.recorded()).toBe(1);
    expect(await b.fanouts()).toBe(1);
  });
});
