import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  auditLogs,
  buildings,
  maintenanceRequests,
  memberships,
  payments,
  users,
} from "../../../src/db/schema";
import { DEMO_BUILDING_NAME, DEMO_PASSWORD, seedStandalone } from "../../../src/modules/demo/seed";
import { createTestApp, type TestApp } from "../../support/app";
import { DB_KINDS } from "../../support/db";
import { tokenFor } from "../../support/fixtures";
import { queryOne } from "./helpers";

describe.each(DB_KINDS)("demo seed on %s", (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ db: kind, env: { SEED_DEMO: "true" } });
  });
  afterAll(() => t.close());

  it("seeds a usable demo building once, with real passwords, versions and audit rows", async () => {
    const first = await (await seedStandalone(t.services)).lines();
    const db = t.services.database.db;
    const [b] = await db.select().from(buildings).where(eq(buildings.name, DEMO_BUILDING_NAME));
    expect(first.join("\n")).toContain(b!.id);
    expect(first.join("\n")).toContain(DEMO_PASSWORD);
    const count = () =>
      queryOne<Record<string, number>>(
        t,
        sql`select
          (select count(*)::int from apartments where building_id = ${b!.id}) as apartments,
          (select count(*)::int from memberships where building_id = ${b!.id}) as members,
          (select count(*)::int from payments where building_id = ${b!.id}) as payments,
          (select count(*)::int from maintenance_requests where building_id = ${b!.id} and status = 'open') as requests,
          (select count(*)::int from announcements where building_id = ${b!.id}) as announcements,
          (select count(*)::int from audit_logs where building_id = ${b!.id}) as audits`,
      );
    const before = await count();
    expect(before).toMatchObject({
      apartments: 6,
      members: 4,
      payments: 11,
      requests: 2,
      announcements: 2,
      audits: 15,
    });
    // Every seeded row carries the version of the seeding transaction.
    const stamped = await db
      .select({ v: payments.syncVersion })
      .from(payments)
      .where(eq(payments.buildingId, b!.id));
    expect(new Set(stamped.map((r) => r.v))).toEqual(new Set([b!.syncVersion]));
    const stampedRows = await queryOne<{ versions: number[] }>(
      t,
      sql`select array(select distinct v from (
            select sync_version as v from apartments where building_id = ${b!.id}
            union all select sync_version from memberships where building_id = ${b!.id}
            union all select sync_version from announcements where building_id = ${b!.id}) s) as versions`,
    );
    expect(stampedRows.versions.map(Number)).toEqual([Number(b!.syncVersion)]);
    const [req] = await db
      .select()
      .from(maintenanceRequests)
      .where(eq(maintenanceRequests.buildingId, b!.id))
      .limit(1);
    expect(req!.syncVersion).toBe(b!.syncVersion);

    const [manager] = await db.select().from(users).where(eq(users.email, "manager@demo.horizon.example"));
    expect(await t.services.passwords.verify(DEMO_PASSWORD, manager!.passwordHash)).toBe(true);
    const [m] = await db
      .select()
      .from(memberships)
      .where(and(eq(memberships.buildingId, b!.id), eq(memberships.userId, manager!.id)));
    expect(m!.role).toBe("manager");
    const payAudits = await db
      .select()
      .from(auditLogs)
      .where(and(eq(auditLogs.buildingId, b!.id), eq(auditLogs.action, "payment.create")));
    expect(payAudits).toHaveLength(11);

    // The seeded manager can use the API right away.
    const token = await tokenFor(t.services, manager!.id);
    const res = await t.request(`/api/v1/buildings/${b!.id}/payments?limit=1`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    expect((await res.json()).pagination.total).toBe(11);

    // One hash serves every demo account the run created; each verifies on its own.
    const people = await db.select().from(users).where(sql`${users.email} like '%@demo.horizon.example'`);
    expect(people).toHaveLength(4);
    for (const p of people)
      expect(await t.services.passwords.verify(DEMO_PASSWORD, p.passwordHash)).toBe(true);

    // A restart prints the demo password only for the accounts that still have it.
    const changed = await t.services.passwords.hash("Another-Password-2026!");
    await db.update(users).set({ passwordHash: changed }).where(eq(users.email, "lea@demo.horizon.example"));
    const second = await (await seedStandalone(t.services)).lines();
    expect(second.join("\n")).toContain(b!.id);
    const lineOf = (email: string) => second.find((l) => l.includes(email))!;
    expect(lineOf("lea@demo.horizon.example")).toContain("(existing password)");
    for (const email of [
      "manager@demo.horizon.example",
      "noa@demo.horizon.example",
      "omer@demo.horizon.example",
    ])
      expect(lineOf(email)).toContain(DEMO_PASSWORD);
    expect(await count()).toEqual(before);
    const again = await db.select().from(buildings).where(eq(buildings.name, DEMO_BUILDING_NAME));
    expect(again).toHaveLength(1);
    // Nothing written, so nothing for sync clients to pull: the version is the seeding one.
    expect(again[0]!.syncVersion).toBe(b!.syncVersion);
  });
});
