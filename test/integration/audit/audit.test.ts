import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLogs } from "../../../src/db/schema";
import { recordAudit, verifyAuditChain } from "../../../src/modules/audit/chain";
import { systemContext } from "../../../src/modules/identity/accounts";
import type { VerbContext } from "../../../src/verbs";
import { inTransaction } from "../../../src/verbs";
import { createTestApp, type TestApp } from "../../support/app";
import { DB_KINDS } from "../../support/db";
import { createBuilding, createUser, type TestBuilding } from "../../support/fixtures";

describe.each(DB_KINDS)("audit trail on %s", (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ db: kind, env: { RATE_LIMIT_ENABLED: "false" } });
  });
  afterAll(() => t.close());
  const db = () => t.services.database.db;

  /** Writes `n` building events as the manager would, each in its own transaction. */
  async function seedEvents(
    b: TestBuilding,
    events: Array<{ action: string; entityType: string; entityId: string; userId?: string }>,
  ) {
    const ctx: VerbContext = { ...systemContext(t.services, "test"), ip: "192.0.2.1", userAgent: "vitest" };
    for (const e of events) {
      await inTransaction(ctx, (tx) =>
        recordAudit(tx, {
          ...e,
          buildingId: b.id,
          userId: e.userId ?? b.manager.id,
          changes: { after: { token: "s3cret", note: "ok" } },
        }),
      );
    }
  }

  it("rejects UPDATE, DELETE and TRUNCATE on audit rows (trigger)", async () => {
    const b = await createBuilding(t.services);
    await seedEvents(b, [{ action: "payment.create", entityType: "payment", entityId: "p1" }]);
    for (const stmt of [
      sql`update audit_logs set action = 'x' where building_id = ${b.id}`,
      sql`delete from audit_logs where building_id = ${b.id}`,
      sql`truncate audit_logs`,
    ]) {
      await expect(db().execute(stmt)).rejects.toThrow();
    }
    expect(await db().select().from(auditLogs).where(eq(auditLogs.buildingId, b.id))).toHaveLength(1);
  });

  it("strips secrets from changes and chains rows per building", async () => {
    const b = await createBuilding(t.services);
    await seedEvents(b, [
      { action: "membership.create", entityType: "membership", entityId: "m1" },
      { action: "membership.update", entityType: "membership", entityId: "m1" },
    ]);
    const rows = await db().select().from(auditLogs).where(eq(auditLogs.scope, b.id)).orderBy(auditLogs.seq);
    expect(rows.map((r) => r.seq)).toEqual([1, 2]);
    expect(rows[1]!.prevHash).toBe(rows[0]!.hash);
    // The seed runs as a system context: the row names it beside the user it acts for.
    expect(rows[0]!.changes).toEqual({
      after: { token: "[REDACTED]", note: "ok" },
      actor: { kind: "system", name: "test" },
    });
    expect(await verifyAuditChain(db(), b.id)).toMatchObject({ valid: true, rows: 2, firstBroken: null });
  });

  it("keeps a chain verifiable through text Postgres cannot store (NUL, lone surrogates)", async () => {
    const b = await createBuilding(t.services);
    await seedEvents(b, [{ action: "note.create", entityType: "note", entityId: "bad\u0000id\ud800" }]);
    expect(await verifyAuditChain(db(), b.id)).toMatchObject({ valid: true, rows: 1 });
  });

  it("catches a row altered directly in the database, and names the first broken link", async () => {
    const b = await createBuilding(t.services);
    await seedEvents(
      b,
      ["a", "b", "c", "d"].map((id) => ({ action: "payment.create", entityType: "payment", entityId: id })),
    );
    const admin = await createUser(t.services, { admin: true });
    // As a superuser could: switch the trigger off, edit row 2, switch it back on.
    await db().transaction(async (tx) => {
      await tx.execute(sql`alter table audit_logs disable trigger audit_logs_no_update_delete`);
      await tx.execute(sql`update audit_logs set entity_id = 'tampered' where scope = ${b.id} and seq = 2`);
      await tx.execute(sql`alter table audit_logs enable trigger audit_logs_no_update_delete`);
    });
    const [row2] = await db()
      .select()
      .from(auditLogs)
      .where(sql`${auditLogs.scope} = ${b.id} and ${auditLogs.seq} = 2`);
    const res = await t.request(`/api/v1/admin/audit/verify?scope=${b.id}`, { headers: admin.auth });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      scope: b.id,
      valid: false,
      rows: 2,
      firstBroken: { seq: 2, id: row2!.id, reason: "hash_mismatch" },
    });
    // A deleted row shows up as a gap.
    await db().transaction(async (tx) => {
      await tx.execute(sql`alter table audit_logs disable trigger audit_logs_no_update_delete`);
      await tx.execute(sql`delete from audit_logs where scope = ${b.id} and seq in (2, 3)`);
      await tx.execute(sql`alter table audit_logs enable trigger audit_logs_no_update_delete`);
    });
    expect((await verifyAuditChain(db(), b.id)).firstBroken).toMatchObject({
      seq: 4,
      reason: "sequence_gap",
    });
  });

  it("verifies the platform chain for admins and answers 400 for a bad scope", async () => {
    const admin = await createUser(t.services, { admin: true });
    const ok = await t.request("/api/v1/admin/audit/verify?scope=platform", { headers: admin.auth });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ scope: "platform", valid: true });
    for (const q of ["", "?scope=buildings", "?scope=platform&x=1"]) {
      const bad = await t.request(`/api/v1/admin/audit/verify${q}`, { headers: admin.auth });
      expect(bad.status, q).toBe(400);
    }
  });

  it("lists a building's trail to its managers, newest first, with filters and pages", async () => {
    const b = await createBuilding(t.services);
    const other = await createBuilding(t.services);
    await seedEvents(other, [{ action: "payment.create", entityType: "payment", entityId: "elsewhere" }]);
    await seedEvents(b, [
      { action: "payment.create", entityType: "payment", entityId: "p1" },
      { action: "payment.update", entityType: "payment", entityId: "p1", userId: b.resident.id },
      { action: "membership.create", entityType: "membership", entityId: "m1" },
      { action: "payment.create", entityType: "payment", entityId: "p2" },
    ]);
    const get = (q: string, auth = b.manager.auth) =>
      t.request(`/api/v1/buildings/${b.id}/audit${q}`, { headers: auth });
    const all = await (await get("")).json();
    expect(all.pagination).toMatchObject({ total: 4, page: 1 });
    expect(all.data.map((e: { seq: number }) => e.seq)).toEqual([4, 3, 2, 1]);
    expect(all.data[0]).toMatchObject({
      ipAddress: "192.0.2.1",
      userAgent: "vitest",
      correlationId: "system:test",
      buildingId: b.id,
    });

    const byAction = await (await get("?action=payment.create")).json();
    expect(byAction.data.map((e: { entityId: string }) => e.entityId)).toEqual(["p2", "p1"]);
    const byUser = await (await get(`?userId=${b.resident.id}`)).json();
    expect(byUser.data).toHaveLength(1);
    const byEntity = await (await get("?entityType=payment&entityId=p1")).json();
    expect(byEntity.pagination.total).toBe(2);
    const future = await (
      await get(`?from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)
    ).json();
    expect(future.data).toHaveLength(0);
    const window = await (
      await get(
        `?from=2000-01-01T00:00:00Z&to=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`,
      )
    ).json();
    expect(window.pagination.total).toBe(4);

    const page1 = await (await get("?limit=3")).json();
    expect(page1.data).toHaveLength(3);
    expect(page1.pagination.hasNext).toBe(true);
    const page2 = await (await get(`?limit=3&cursor=${page1.pagination.nextCursor}`)).json();
    expect(page2.data.map((e: { seq: number }) => e.seq)).toEqual([1]);

    for (const q of [
      "?userId=nope",
      "?from=yesterday",
      "?action=DROP TABLE",
      "?unknown=1",
      "?from=2030-01-01T00:00:00Z&to=2020-01-01T00:00:00Z",
    ]) {
      const res = await get(q);
      expect(res.status, q).toBe(400);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
    }
    expect((await get("", b.resident.auth)).status).toBe(403);
    expect((await get("", other.manager.auth)).status).toBe(404);
  });
});
