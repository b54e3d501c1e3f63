import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outbox } from "../../../src/db/schema";
import { pruneDelivered } from "../../../src/modules/outbox/admin";
import { createOutboxConsumer } from "../../../src/modules/outbox/consumer";
import { createTestApp, type TestApp } from "../../support/app";
import { DB_KINDS } from "../../support/db";
import { createBuilding, json } from "../../support/fixtures";

describe.each(DB_KINDS)("realtime outbox on %s", (kind) => {
  let t: TestApp;
  let now = new Date();
  beforeAll(async () => {
    t = await createTestApp({ db: kind, clock: { now: () => now } });
  });
  afterAll(() => t.close());

  it("marks a write's poke dispatched after commit, and prunes it once old", async () => {
    const b = await createBuilding(t.services);
    const res = await t.request(
      `/api/v1/buildings/${b.id}/apartments`,
      json({ number: "77", floor: 7 }, b.manager.auth),
    );
    expect(res.status).toBe(201);
    const rows = await t.services.database.db.select().from(outbox).where(eq(outbox.buildingId, b.id));
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.topic.startsWith("realtime.") && r.dispatchedAt !== null)).toBe(true);

    // A pending row (commit happened, publish did not) must survive pruning.
    const [pending] = await t.services.database.db
      .insert(outbox)
      .values({
        buildingId: b.id,
        topic: "realtime.poke",
        payload: { type: "poke", buildingId: b.id, version: 999 },
      })
      .returning();

    expect(await pruneDelivered(t.services)).toBe(0);
    now = new Date(Date.now() + 25 * 60 * 60 * 1000);
    try {
      expect(await pruneDelivered(t.services)).toBeGreaterThanOrEqual(rows.length);
      const left = await t.services.database.db.select().from(outbox).where(eq(outbox.buildingId, b.id));
      expect(left.map((r) => r.id)).toEqual([pending!.id]);
      // The outbox consumer (the realtime handler registered by the module) sends the pending
      // one and marks it.
      expect(await createOutboxConsumer(t.services).drainDue()).toBe(1);
      const [sent] = await t.services.database.db.select().from(outbox).where(eq(outbox.id, pending!.id));
      expect(sent!.dispatchedAt).not.toBeNull();
    } finally {
      now = new Date();
    }
  });
});
