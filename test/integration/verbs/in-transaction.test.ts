import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLogs } from "../../../src/db/schema";
import { recordAudit } from "../../../src/modules/audit/chain";
import { systemContext } from "../../../src/modules/identity/accounts";
import { inTransaction, type VerbContext } from "../../../src/verbs";
import { createTestApp, type TestApp } from "../../support/app";
import { DB_KINDS } from "../../support/db";
import { createBuilding } from "../../support/fixtures";

// A verb that calls another verb inside its transaction must join it: a second, independent
// transaction would not see the outer one's uncommitted writes, would commit on its own while the
// outer one rolls back, and on a single-connection database (PGlite) would wait for it forever.
describe.each(DB_KINDS)("inTransaction inside another verb's transaction on %s", (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ db: kind, env: { RATE_LIMIT_ENABLED: "false" } });
  });
  afterAll(() => t.close(), 5_000);

  const auditRows = (ctx: VerbContext, buildingId: string) =>
    ctx.db.select().from(auditLogs).where(eq(auditLogs.scope, buildingId));

  it("sees the outer transaction's uncommitted writes and rolls back with it", {
    timeout: 15_000,
  }, async () => {
    const b = await createBuilding(t.services);
    const ctx = systemContext(t.services, "test");
    const event = { buildingId: b.id, entityType: "payment", userId: null };
    let innerSaw = -1;
    let sameHandle = false;
    const outcome = await inTransaction(ctx, async (outer) => {
      await recordAudit(outer, { ...event, action: "payment.create", entityId: "outer" });
      await inTransaction(outer, async (inner) => {
        sameHandle = inner.db === outer.db;
        innerSaw = (await auditRows(inner, b.id)).length;
        // An independent transaction would wait on the outer one's audit lock forever: stop here.
        if (innerSaw !== 1) throw new Error(`inner transaction saw ${innerSaw} audit rows`);
        await recordAudit(inner, { ...event, action: "payment.update", entityId: "inner" });
      });
      expect(await auditRows(outer, b.id)).toHaveLength(2);
      throw new Error("outer verb fails after the inner one returned");
    }).catch((err: Error) => err.message);

    expect(outcome).toBe("outer verb fails after the inner one returned");
    expect(innerSaw).toBe(1);
    expect(sameHandle).toBe(true);
    expect(await auditRows(ctx, b.id)).toHaveLength(0);
  });

  it("commits both verbs' writes together when the outer one succeeds", { timeout: 15_000 }, async () => {
    const b = await createBuilding(t.services);
    const ctx = systemContext(t.services, "test");
    const event = { buildingId: b.id, entityType: "payment", userId: null };
    await inTransaction(ctx, async (outer) => {
      await recordAudit(outer, { ...event, action: "payment.create", entityId: "outer" });
      await inTransaction(outer, (inner) =>
        recordAudit(inner, { ...event, action: "payment.update", entityId: "inner" }),
      );
    });
    const rows = await auditRows(ctx, b.id);
    expect(rows.map((r) => r.seq).sort()).toEqual([1, 2]);
  });
});
