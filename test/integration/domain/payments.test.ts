import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLogs, payments } from "../../../src/db/schema";
import { createTestApp, type TestApp } from "../../support/app";
import { DB_KINDS } from "../../support/db";
import { createBuilding, createUser, type TestBuilding } from "../../support/fixtures";
import { auditRows, buildingVersion, call, failAuditsMentioning } from "./helpers";

describe.each(DB_KINDS)("payments on %s", (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ db: kind });
  });
  afterAll(() => t.close());

  const record = (b: TestBuilding, body: Record<string, unknown>, user = b.manager, headers = {}) =>
    call(t, "POST", `/buildings/${b.id}/payments`, user, body, headers);
  const due = (b: TestBuilding, apt = 0, extra: Record<string, unknown> = {}) =>
    record(b, {
      apartmentId: b.apartments[apt]!.id,
      kind: "due",
      amountMinor: 45000,
      dueDate: "2026-07-01",
      ...extra,
    });

  it("records dues and payments with an audit row in the same transaction", async () => {
    const b = await createBuilding(t.services);
    const v0 = await buildingVersion(t, b.id);
    const res = await record(
      b,
      {
        apartmentId: b.apartments[0]!.id,
        kind: "payment",
        amountMinor: 30000,
        currency: "ILS",
        method: "bank_transfer",
      },
      b.manager,
      { "x-correlation-id": `pay-${kind}` },
    );
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      kind: "payment",
      amountMinor: 30000,
      currency: "ILS",
      recordedBy: b.manager.id,
      syncVersion: v0 + 1,
    });
    expect(res.body.paidAt).toBeTruthy();
    const audit = await auditRows(t, res.body.id);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      action: "payment.create",
      entityType: "payment",
      buildingId: b.id,
      userId: b.manager.id,
      correlationId: `pay-${kind}`,
    });
    expect((audit[0]!.changes as { after: { amountMinor: number } }).after.amountMinor).toBe(30000);
    const d = await due(b);
    expect(d.status).toBe(201);
    expect(d.body).toMatchObject({ currency: "ILS", dueDate: "2026-07-01", paidAt: null });
  });

  it("refuses bad amounts, currencies and shapes", async () => {
    const b = await createBuilding(t.services);
    const apartmentId = b.apartments[0]!.id;
    const bad: Array<Record<string, unknown>> = [
      { apartmentId, kind: "due", amountMinor: -5, dueDate: "2026-07-01" },
      { apartmentId, kind: "due", amountMinor: 0, dueDate: "2026-07-01" },
      { apartmentId, kind: "due", amountMinor: 10.5, dueDate: "2026-07-01" },
      { apartmentId, kind: "due", amountMinor: "100", dueDate: "2026-07-01" },
      { apartmentId, kind: "due", amountMinor: 100, dueDate: "2026-07-01", currency: "usd" },
      { apartmentId, kind: "due", amountMinor: 100, dueDate: "2026-07-01", currency: "DOLLARS" },
      { apartmentId, kind: "due", amountMinor: 100, dueDate: "2026-02-30x" },
      { apartmentId, kind: "refund", amountMinor: 100 },
      { apartmentId, kind: "payment", amountMinor: 100, tip: 5 },
      { apartmentId: "12", kind: "payment", amountMinor: 100 },
    ];
    for (const body of bad) expect((await record(b, body)).status, JSON.stringify(body)).toBe(400);
    expect((await record(b, { apartmentId, kind: "due", amountMinor: 100 })).status).toBe(422);
    expect(
      (await record(b, { apartmentId, kind: "due", amountMinor: 100, dueDate: "2026-07-01", method: "cash" }))
        .status,
    ).toBe(422);
    const other = await createBuilding(t.services);
    expect(
      (await record(b, { apartmentId: other.apartments[0]!.id, kind: "payment", amountMinor: 100 })).status,
    ).toBe(404);
    expect((await record(b, { apartmentId, kind: "payment", amountMinor: 100 }, b.resident)).status).toBe(
      403,
    );
    expect(
      await t.services.database.db.select().from(payments).where(eq(payments.buildingId, b.id)),
    ).toHaveLength(0);
  });

  it("leaves no payment and no version bump when the audit write fails", async () => {
    const b = await createBuilding(t.services);
    const marker = `failaudit${kind}`;
    await failAuditsMentioning(t, marker);
    const v0 = await buildingVersion(t, b.id);
    const res = await due(b, 0, { description: marker });
    expect(res.status).toBe(500);
    expect(
      await t.services.database.db.select().from(payments).where(eq(payments.buildingId, b.id)),
    ).toHaveLength(0);
    expect(await buildingVersion(t, b.id)).toBe(v0);
    expect(
      await t.services.database.db.select().from(auditLogs).where(eq(auditLogs.buildingId, b.id)),
    ).toHaveLength(0);
  });

  it("shows residents only their apartment's rows; another apartment's id is 404", async () => {
    const b = await createBuilding(t.services);
    const mine = await due(b, 0);
    const theirs = await due(b, 1);
    const list = await call(t, "GET", `/buildings/${b.id}/payments`, b.resident);
    expect(list.body.data.map((p: { id: string }) => p.id)).toEqual([mine.body.id]);
    const sneaky = await call(
      t,
      "GET",
      `/buildings/${b.id}/payments?apartmentId=${b.apartments[1]!.id}`,
      b.resident,
    );
    expect(sneaky.body.data).toEqual([]);
    expect((await call(t, "GET", `/buildings/${b.id}/payments/${theirs.body.id}`, b.resident)).status).toBe(
      404,
    );
    expect((await call(t, "GET", `/buildings/${b.id}/payments/${mine.body.id}`, b.resident)).status).toBe(
      200,
    );
    const all = await call(t, "GET", `/buildings/${b.id}/payments?kind=due`, b.manager);
    expect(all.body.pagination.total).toBe(2);
    const filtered = await call(
      t,
      "GET",
      `/buildings/${b.id}/payments?apartmentId=${b.apartments[1]!.id}`,
      b.manager,
    );
    expect(filtered.body.data.map((p: { id: string }) => p.id)).toEqual([theirs.body.id]);
    const other = await createBuilding(t.services);
    expect(
      (await call(t, "GET", `/buildings/${other.id}/payments/${mine.body.id}`, other.manager)).status,
    ).toBe(404);
    const outsider = await createUser(t.services);
    expect((await call(t, "GET", `/buildings/${b.id}/payments`, outsider)).status).toBe(404);
  });

  it("audits corrections and deletions with before and after", async () => {
    const b = await createBuilding(t.services);
    const d = await due(b, 0);
    const path = `/buildings/${b.id}/payments/${d.body.id}`;
    const got = await call(t, "GET", path, b.manager);
    const fixed = await call(
      t,
      "PATCH",
      path,
      b.manager,
      { amountMinor: 47000 },
      { "if-match": got.headers.get("etag")! },
    );
    expect(fixed.status).toBe(200);
    expect(fixed.body.amountMinor).toBe(47000);
    expect((await call(t, "PATCH", path, b.manager, { kind: "payment" })).status).toBe(400);
    expect((await call(t, "PATCH", path, b.resident, { amountMinor: 1 })).status).toBe(403);
    expect(
      (await call(t, "PATCH", path, b.manager, { amountMinor: 1 }, { "if-match": got.headers.get("etag")! }))
        .status,
    ).toBe(412);
    const v0 = await buildingVersion(t, b.id);
    expect((await call(t, "DELETE", path, b.manager)).status).toBe(204);
    const [row] = await t.services.database.db.select().from(payments).where(eq(payments.id, d.body.id));
    expect(row!.deletedAt).toBeInstanceOf(Date);
    expect(row!.syncVersion).toBe(v0 + 1);
    const audit = await auditRows(t, d.body.id);
    expect(audit.map((a) => a.action)).toEqual(["payment.create", "payment.update", "payment.delete"]);
    expect(audit[1]!.changes).toMatchObject({
      before: { amountMinor: 45000 },
      after: { amountMinor: 47000 },
    });
    expect((await call(t, "GET", path, b.manager)).status).toBe(404);
  });

  it("computes the balance per currency: dues − payments", async () => {
    const b = await createBuilding(t.services);
    const apt = b.apartments[0]!.id;
    await due(b, 0, { amountMinor: 50000 });
    await due(b, 0, { amountMinor: 20000, currency: "EUR" });
    await record(b, { apartmentId: apt, kind: "payment", amountMinor: 30000 });
    const gone = await record(b, { apartmentId: apt, kind: "payment", amountMinor: 99999 });
    await call(t, "DELETE", `/buildings/${b.id}/payments/${gone.body.id}`, b.manager);
    await due(b, 1, { amountMinor: 1 });
    const res = await call(t, "GET", `/buildings/${b.id}/apartments/${apt}/balance`, b.resident);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      apartmentId: apt,
      balances: [
        { currency: "EUR", duesMinor: 20000, paymentsMinor: 0, balanceMinor: 20000 },
        { currency: "ILS", duesMinor: 50000, paymentsMinor: 30000, balanceMinor: 20000 },
      ],
    });
    expect(
      (await call(t, "GET", `/buildings/${b.id}/apartments/${b.apartments[1]!.id}/balance`, b.resident))
        .status,
    ).toBe(404);
    expect(
      (await call(t, "GET", `/buildings/${b.id}/apartments/${b.apartments[1]!.id}/balance`, b.manager))
        .status,
    ).toBe(200);
  });
});
