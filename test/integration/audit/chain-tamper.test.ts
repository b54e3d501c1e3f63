/**
 * The audit chain must cover every field it claims to: each row's hash is recomputed here from the
 * documented format (independent-hash.ts), and each chained column is altered in turn as a
 * superuser could (append-only trigger disabled, one column updated, trigger enabled again). The
 * verifier must report every one, or a field left out of the hash input goes unnoticed.
 */
import { randomUUID } from "node:crypto";
import { type SQL, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordAudit, verifyAuditChain } from "../../../src/modules/audit/chain";
import { systemContext } from "../../../src/modules/identity/accounts";
import { inTransaction, type VerbContext } from "../../../src/verbs";
import { createTestApp, type TestApp } from "../../support/app";
import { DB_KINDS } from "../../support/db";
import { createBuilding, type TestBuilding } from "../../support/fixtures";
import { recomputeChain } from "./independent-hash";

type Tamper = {
  column: string;
  /** which row to edit (seq), or "all" for the whole chain */
  row: number | "all";
  set: (b: TestBuilding, other: string) => SQL;
  /** what the verifier must report */
  expect: { seq: number; reason: "hash_mismatch" | "prev_hash_mismatch" | "sequence_gap" };
  /** verify this scope instead of the building's (a chain moved elsewhere) */
  scopeAfter?: (b: TestBuilding, other: string) => string;
};

const MISMATCH_AT_2 = { seq: 2, reason: "hash_mismatch" } as const;

const TAMPERS: Tamper[] = [
  // A chain moved whole to another scope keeps its links and sequence: only a hashed scope shows it.
  {
    column: "scope",
    row: "all",
    set: (_b, other) => sql`scope = ${other}`,
    scopeAfter: (_b, other) => other,
    expect: { seq: 1, reason: "hash_mismatch" },
  },
  { column: "seq", row: 3, set: () => sql`seq = 7`, expect: { seq: 7, reason: "sequence_gap" } },
  { column: "building_id", row: 2, set: (_b, other) => sql`building_id = ${other}`, expect: MISMATCH_AT_2 },
  { column: "user_id", row: 2, set: (b) => sql`user_id = ${b.resident.id}`, expect: MISMATCH_AT_2 },
  { column: "user_id (erased)", row: 2, set: () => sql`user_id = null`, expect: MISMATCH_AT_2 },
  { column: "action", row: 2, set: () => sql`action = 'payment.delete'`, expect: MISMATCH_AT_2 },
  { column: "entity_type", row: 2, set: () => sql`entity_type = 'apartment'`, expect: MISMATCH_AT_2 },
  { column: "entity_id", row: 2, set: () => sql`entity_id = 'p-forged'`, expect: MISMATCH_AT_2 },
  {
    column: "changes",
    row: 2,
    set: () => sql`changes = jsonb_set(changes, '{after,amount}', '1')`,
    expect: MISMATCH_AT_2,
  },
  { column: "changes (erased)", row: 2, set: () => sql`changes = null`, expect: MISMATCH_AT_2 },
  { column: "ip_address", row: 2, set: () => sql`ip_address = '198.51.100.66'`, expect: MISMATCH_AT_2 },
  { column: "user_agent", row: 2, set: () => sql`user_agent = 'curl/8'`, expect: MISMATCH_AT_2 },
  { column: "correlation_id", row: 2, set: () => sql`correlation_id = 'forged'`, expect: MISMATCH_AT_2 },
  {
    column: "timestamp",
    row: 2,
    set: () => sql`"timestamp" = "timestamp" + interval '1 millisecond'`,
    expect: MISMATCH_AT_2,
  },
  {
    column: "prev_hash",
    row: 2,
    set: () => sql`prev_hash = repeat('a', 64)`,
    expect: { seq: 2, reason: "prev_hash_mismatch" },
  },
  // A forged row whose own hash is then rewritten still breaks the next link.
  { column: "hash", row: 2, set: () => sql`hash = repeat('b', 64)`, expect: MISMATCH_AT_2 },
];

describe.each(DB_KINDS)("audit chain covers every field on %s", (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ db: kind, env: { RATE_LIMIT_ENABLED: "false" } });
  });
  afterAll(() => t.close());
  const db = () => t.services.database.db;

  /** Three rows with every chained field set to something distinct. */
  async function seedChain(b: TestBuilding) {
    const base = systemContext(t.services, "chain");
    const events = [
      { action: "payment.create", entityType: "payment", entityId: "p1", userId: b.manager.id },
      { action: "payment.update", entityType: "payment", entityId: "p1", userId: b.manager.id },
      { action: "membership.create", entityType: "membership", entityId: "m1", userId: b.neighbour.id },
    ];
    for (const [i, e] of events.entries()) {
      const ctx: VerbContext = {
        ...base,
        ip: `192.0.2.${i + 1}`,
        userAgent: `vitest/${i}`,
        correlationId: `corr-${i}-${randomUUID()}`,
        now: new Date(Date.UTC(2025, 0, 1, 12, 0, i, 123)),
      };
      await inTransaction(ctx, (tx) =>
        recordAudit(tx, {
          ...e,
          buildingId: b.id,
          // integer-like keys and non-ASCII text: the canonical order must not depend on JS key order
          changes: {
            before: { amount: 100 + i, "10": "x", "9": "y" },
            after: { amount: 200 + i, note: "שלום 🏠" },
          },
        }),
      );
    }
  }

  it("stores, for every row, the hash recomputed from the documented format", async () => {
    const b = await createBuilding(t.services);
    await seedChain(b);
    const chain = await recomputeChain(db(), b.id);
    expect(chain).toHaveLength(3);
    for (const link of chain) {
      expect(link.prevOk, `seq ${link.seq} prev_hash`).toBe(true);
      expect(link.stored, `seq ${link.seq} hash`).toBe(link.expected);
    }
    expect(await verifyAuditChain(db(), b.id)).toMatchObject({ valid: true, rows: 3 });
  });

  it.each(TAMPERS)("reports a chain whose $column was altered in the database", async (tamper) => {
    const b = await createBuilding(t.services);
    await seedChain(b);
    const other = (await createBuilding(t.services)).id;
    expect(await verifyAuditChain(db(), b.id)).toMatchObject({ valid: true, rows: 3 });
    const where = tamper.row === "all" ? sql`scope = ${b.id}` : sql`scope = ${b.id} and seq = ${tamper.row}`;
    await db().transaction(async (tx) => {
      await tx.execute(sql`alter table audit_logs disable trigger audit_logs_no_update_delete`);
      const res = await tx.execute(sql`update audit_logs set ${tamper.set(b, other)} where ${where}`);
      const count =
        (res as unknown as { rowCount?: number; affectedRows?: number }).rowCount ??
        (res as unknown as { affectedRows?: number }).affectedRows;
      expect(count, "the tamper must touch a row").toBe(tamper.row === "all" ? 3 : 1);
      await tx.execute(sql`alter table audit_logs enable trigger audit_logs_no_update_delete`);
    });
    const scope = tamper.scopeAfter?.(b, other) ?? b.id;
    const report = await verifyAuditChain(db(), scope);
    expect(report.valid, `${tamper.column} altered but the chain verifies`).toBe(false);
    expect(report.firstBroken).toMatchObject(tamper.expect);
    // The independent recomputation agrees that some link broke.
    const chain = await recomputeChain(db(), scope);
    expect(chain.some((l) => !l.prevOk || l.stored !== l.expected || l.seq !== chain.indexOf(l) + 1)).toBe(
      true,
    );
  });
});
