/**
 * The audit chain's hash, written again from its documented format (src/modules/audit/chain.ts)
 * rather than by calling the code that writes it: a test that verifies a row with the writer's own
 * function cannot notice a field that the writer forgot to hash.
 *
 * Format: hash = hex(SHA-256(`${prevHash}\n${canonical(fields)}`)), where `fields` holds scope, seq,
 * buildingId, userId, action, entityType, entityId, changes, ipAddress, userAgent, correlationId and
 * timestamp (ISO 8601 UTC with milliseconds), and canonical JSON sorts object keys by UTF-16 code
 * units, drops undefined members and has no whitespace.
 */
import { createHash } from "node:crypto";
import { sql } from "drizzle-orm";
import { type DbOrTx, queryRows } from "../../../src/platform/db";

/** Serialized by hand: rebuilding a sorted object would let JS move integer-like keys first. */
function canonicalJson(value: unknown): string {
  if (value === undefined || value === null) return "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object") {
    const keys = Object.keys(value)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export interface RawAuditRow {
  id: string;
  scope: string;
  seq: number;
  building_id: string | null;
  user_id: string | null;
  action: string;
  entity_type: string;
  entity_id: string;
  changes: string | null;
  ip_address: string;
  user_agent: string;
  correlation_id: string;
  ts: string;
  prev_hash: string;
  hash: string;
}

/** A scope's rows read with raw SQL (not the app's row mapping), in chain order. */
export async function rawAuditRows(db: DbOrTx, scope: string): Promise<RawAuditRow[]> {
  // Ordered by the qualified column: a bare `seq` would sort by the text alias ("10" < "2").
  const rows = await queryRows<RawAuditRow & { seq: string | number }>(
    db,
    sql`select a.id::text as id, a.scope, a.seq::text as seq, building_id::text as building_id,
          user_id::text as user_id, action, entity_type, entity_id, changes::text as changes,
          ip_address, user_agent, correlation_id,
          to_char("timestamp" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as ts,
          prev_hash, hash
        from audit_logs a where a.scope = ${scope} order by a.seq`,
  );
  return rows.map((r) => ({ ...r, seq: Number(r.seq) }));
}

export function expectedAuditHash(prevHash: string, row: RawAuditRow): string {
  const fields = {
    scope: row.scope,
    seq: row.seq,
    buildingId: row.building_id,
    userId: row.user_id,
    action: row.action,
    entityType: row.entity_type,
    entityId: row.entity_id,
    changes: row.changes === null ? null : JSON.parse(row.changes),
    ipAddress: row.ip_address,
    userAgent: row.user_agent,
    correlationId: row.correlation_id,
    timestamp: row.ts,
  };
  return createHash("sha256")
    .update(`${prevHash}\n${canonicalJson(fields)}`, "utf8")
    .digest("hex");
}

/** Every row's hash recomputed independently, chained from the all-zero genesis hash. */
export async function recomputeChain(
  db: DbOrTx,
  scope: string,
): Promise<Array<{ seq: number; stored: string; expected: string; prevOk: boolean }>> {
  let prev = "0".repeat(64);
  const out = [];
  for (const row of await rawAuditRows(db, scope)) {
    out.push({
      seq: row.seq,
      stored: row.hash,
      expected: expectedAuditHash(prev, row),
      prevOk: row.prev_hash === prev,
    });
    prev = row.hash;
  }
  return out;
}
