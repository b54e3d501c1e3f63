/**
 * The actor of a verb is a user, the system (cron, the in-process dispatcher) or a job (a QStash
 * consumer): an audit row written by a job names it, instead of an anonymous row with no user.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLogs } from "../../../src/db/schema";
import { recordAudit, verifyAuditChain } from "../../../src/modules/audit/chain";
import { createOutboxConsumer } from "../../../src/modules/outbox/consumer";
import { recordEvents } from "../../../src/modules/outbox/record";
import { HandlerRegistry } from "../../../src/modules/outbox/registry";
import { inTransaction, userActor } from "../../../src/verbs";
import { createTestApp, type TestApp } from "../../support/app";
import { DB_KINDS } from "../../support/db";
import { createBuilding } from "../../support/fixtures";

describe.each(DB_KINDS)("audit actors on %s", (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ db: kind });
  });
  afterAll(() => t.close());

  const rowsOf = (buildingId: string) =>
    t.services.database.db
      .select()
      .from(auditLogs)
      .where(eq(auditLogs.scope, buildingId))
      .orderBy(auditLogs.seq);

  it("an outbox handler's audit row names the dispatcher (system) or the QStash consumer (job)", async () => {
    const b = await createBuilding(t.services);
    const registry = new HandlerRegistry();
    registry.register("audit.probe", {
      handle: (_payload, ctx) =>
        inTransaction(ctx, (tx) =>
          recordAudit(tx, {
            buildingId: b.id,
            action: "probe.run",
            entityType: "probe",
            entityId: ctx.event.id,
            changes: { after: { ok: true } },
          }),
        ),
    });
    const [inProcess, viaQStash] = await recordEvents(t.services.database.db, [
      { topic: "audit.probe", buildingId: b.id, payload: {} },
      { topic: "audit.probe", buildingId: b.id, payload: {} },
    ]);
    const consumer = createOutboxConsumer(t.services, { registry });
    expect(await consumer.deliver(inProcess!.id)).toEqual({ status: "ok" });
    expect(await consumer.deliver(viaQStash!.id, { via: "qstash" })).toEqual({ status: "ok" });

    const rows = await rowsOf(b.id);
    expect(rows.map((r) => ({ entityId: r.entityId, userId: r.userId, changes: r.changes }))).toEqual([
      {
        entityId: inProcess!.id,
        userId: null,
        changes: { after: { ok: true }, actor: { kind: "system", name: "outbox-dispatcher" } },
      },
      {
        entityId: viaQStash!.id,
        userId: null,
        changes: { after: { ok: true }, actor: { kind: "job", name: "qstash-consumer" } },
      },
    ]);
    expect(await verifyAuditChain(t.services.database.db, b.id)).toMatchObject({ valid: true, rows: 2 });
  });

  it("a user's audit row carries the user id and no actor member", async () => {
    const b = await createBuilding(t.services);
    const ctx = {
      services: t.services,
      db: t.services.database.db,
      actor: userActor({ userId: b.manager.id, isAdmin: false }),
      membership: null,
      correlationId: "corr-user",
      ip: "",
      userAgent: "vitest",
      now: t.services.clock.now(),
    };
    await inTransaction(ctx, (tx) =>
      recordAudit(tx, {
        buildingId: b.id,
        action: "probe.run",
        entityType: "probe",
        entityId: "u",
        changes: null,
      }),
    );
    const [row] = await rowsOf(b.id);
    expect(row).toMatchObject({ userId: b.manager.id, changes: null });
  });
});
