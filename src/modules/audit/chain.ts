/**
 * The tamper-evident audit trail (design property 32). `recordAudit` appends a row inside the
 * caller's transaction, so a sensitive change and its audit row commit together or not at all.
 * Rows are chained per scope (a building id, or "platform"): hash = SHA-256 of the previous hash
 * and the row's canonical content. An advisory lock per scope orders concurrent appends.
 */
import { asc, desc, eq, sql } from "drizzle-orm";
import { auditLogs } from "../../db/schema";
import type { DbOrTx } from "../../platform/db";
import { redact } from "../../platform/log";
import { userOf, type VerbContext } from "../../verbs";

export const GENESIS_HASH = "0".repeat(64);
export const PLATFORM_SCOPE = "platform";

export interface AuditEvent {
  /** `entity.verb`, e.g. `membership.create`, `auth.login_failed` */
  action: string;
  entityType: string;
  entityId: string;
  buildingId?: string | null;
  /** Acting user; defaults to userOf(ctx). */
  userId?: string | null;
  changes?: { before?: unknown; after?: unknown } | Record<string, unknown> | null;
}

export type ChainFields = {
  scope: string;
  seq: number;
  buildingId: string | null;
  userId: string | null;
  action: string;
  entityType: string;
  entityId: string;
  changes: unknown;
  ipAddress: string;
  userAgent: string;
  correlationId: string;
  timestamp: string;
};

function canonical(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Text as Postgres will store it: lone UTF-16 surrogates and NUL cannot be stored (text and jsonb
 * reject or replace them), so they become U+FFFD before hashing. Otherwise the stored row would
 * differ from the hashed one and an honest row would fail verification (or the insert would fail).
 */
function storable(value: unknown): unknown {
  if (typeof value === "string")
    return value.replace(LONE_SURROGATE, "\uFFFD").replaceAll("\u0000", "\uFFFD");
  if (Array.isArray(value)) return value.map(storable);
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[storable(k) as string] = storable(v);
    return out;
  }
  return value;
}

export async function chainHash(prevHash: string, fields: ChainFields): Promise<string> {
  const bytes = new TextEncoder().encode(`${prevHash}\n${canonical(fields)}`);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

export type AuditRow = typeof auditLogs.$inferSelect;

/** The hashed content of a stored row (what recordAudit hashed when it wrote it). */
export function chainFieldsOf(row: AuditRow): ChainFields {
  return {
    scope: row.scope,
    seq: row.seq,
    buildingId: row.buildingId,
    userId: row.userId,
    action: row.action,
    entityType: row.entityType,
    entityId: row.entityId,
    changes: row.changes ?? null,
    ipAddress: row.ipAddress,
    userAgent: row.userAgent,
    correlationId: row.correlationId,
    timestamp: row.timestamp.toISOString(),
  };
}

/** Appends one audit row in `ctx.db` (pass the transaction of the change). */
export async function recordAudit(ctx: VerbContext, event: AuditEvent): Promise<void> {
  const db = ctx.db;
  const scope = event.buildingId ?? PLATFORM_SCOPE;
  await db.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`audit:${scope}`}, 0))`);
  const [last] = await db
    .select({ seq: auditLogs.seq, hash: auditLogs.hash })
    .from(auditLogs)
    .where(eq(auditLogs.scope, scope))
    .orderBy(desc(auditLogs.seq))
    .limit(1);
  // A system or job actor has no user id: its kind and name ride in `changes.actor` (hashed into
  // the chain like the rest of the row), so the trail says which job acted without a new column.
  const acting =
    ctx.actor && ctx.actor.kind !== "user" ? { kind: ctx.actor.kind, name: ctx.actor.name } : null;
  const changes = acting ? { ...(event.changes ?? {}), actor: acting } : event.changes;
  const fields: ChainFields = {
    scope,
    seq: (last?.seq ?? 0) + 1,
    buildingId: event.buildingId ?? null,
    userId: event.userId !== undefined ? event.userId : (userOf(ctx)?.userId ?? null),
    action: storable(event.action) as string,
    entityType: storable(event.entityType) as string,
    entityId: storable(event.entityId) as string,
    changes: changes ? storable(JSON.parse(JSON.stringify(redact(changes)))) : null,
    ipAddress: storable(ctx.ip) as string,
    userAgent: storable(ctx.userAgent.slice(0, 512)) as string,
    correlationId: storable(ctx.correlationId) as string,
    timestamp: new Date(ctx.now.getTime()).toISOString(),
  };
  const prevHash = last?.hash ?? GENESIS_HASH;
  const hash = await chainHash(prevHash, fields);
  await db.insert(auditLogs).values({ ...fields, timestamp: new Date(fields.timestamp), prevHash, hash });
}

export interface ChainReport {
  scope: string;
  rows: number;
  valid: boolean;
  firstBroken: {
    seq: number;
    id: string;
    reason: "hash_mismatch" | "prev_hash_mismatch" | "sequence_gap";
  } | null;
}

/** Recomputes a scope's chain in order and reports the first broken link. */
export async function verifyAuditChain(db: DbOrTx, scope: string, batch = 1000): Promise<ChainReport> {
  let prevHash = GENESIS_HASH;
  let expectedSeq = 1;
  let rows = 0;
  for (;;) {
    const page = await db
      .select()
      .from(auditLogs)
      .where(sql`${auditLogs.scope} = ${scope} and ${auditLogs.seq} >= ${expectedSeq}`)
      .orderBy(asc(auditLogs.seq))
      .limit(batch);
    for (const row of page) {
      rows++;
      const broken = (reason: NonNullable<ChainReport["firstBroken"]>["reason"]) => ({
        scope,
        rows,
        valid: false,
        firstBroken: { seq: row.seq, id: row.id, reason },
      });
      if (row.seq !== expectedSeq) return broken("sequence_gap");
      if (row.prevHash !== prevHash) return broken("prev_hash_mismatch");
      const recomputed = await chainHash(prevHash, chainFieldsOf(row));
      if (recomputed !== row.hash) return broken("hash_mismatch");
      prevHash = row.hash;
      expectedSeq++;
    }
    if (page.length < batch) return { scope, rows, valid: true, firstBroken: null };
  }
}
