/**
 * Reading the audit trail: a building's entries for its managers (filters + pagination) and the
 * chain verification for platform administrators. Writing is recordAudit in ./chain.ts only.
 */
import { and, count, eq, gte, lte, type SQL } from "drizzle-orm";
import { auditLogs } from "../../db/schema";
import { ApiError } from "../../errors";
import { type Paginated, type PaginationQuery, paginate } from "../../http/pagination";
import type { VerbContext } from "../../verbs";
import {
  type AuditRow,
  type ChainFields,
  type ChainReport,
  chainFieldsOf,
  PLATFORM_SCOPE,
  verifyAuditChain,
} from "./chain";

export type { AuditRow };

export interface AuditFilters {
  userId?: string;
  action?: string;
  entityType?: string;
  entityId?: string;
  from?: string;
  to?: string;
}

/** What the API shows of a row: its hashed content (less the chain scope) plus id and hashes. */
export type AuditEntry = Omit<ChainFields, "scope"> & { id: string; hash: string; prevHash: string };

export function toAuditEntry(row: AuditRow): AuditEntry {
  const { scope: _scope, ...fields } = chainFieldsOf(row);
  return { id: row.id, ...fields, hash: row.hash, prevHash: row.prevHash };
}

/** A building's audit entries, newest first (chain order), filtered and paginated. */
export async function listBuildingAudit(
  ctx: VerbContext,
  buildingId: string,
  filters: AuditFilters,
  query: PaginationQuery,
): Promise<Paginated<AuditEntry>> {
  const from = filters.from ? new Date(filters.from) : undefined;
  const to = filters.to ? new Date(filters.to) : undefined;
  if (from && to && from > to) throw new ApiError("VALIDATION_FAILED", "`from` must not be after `to`");
  const conditions: SQL[] = [eq(auditLogs.scope, buildingId)];
  if (filters.userId) conditions.push(eq(auditLogs.userId, filters.userId));
  if (filters.action) conditions.push(eq(auditLogs.action, filters.action));
  if (filters.entityType) conditions.push(eq(auditLogs.entityType, filters.entityType));
  if (filters.entityId) conditions.push(eq(auditLogs.entityId, filters.entityId));
  if (from) conditions.push(gte(auditLogs.timestamp, from));
  if (to) conditions.push(lte(auditLogs.timestamp, to));
  // The cursor scope binds a cursor to this building and these filters.
  const scope = `audit:${buildingId}:${JSON.stringify(filters)}`;
  const page = await paginate<AuditRow>({
    query,
    scope,
    secret: ctx.services.config.JWT_SECRET!,
    now: ctx.now,
    sort: { column: auditLogs.seq, id: auditLogs.id, direction: "desc", key: (r) => r.seq },
    where: and(...conditions),
    fetch: ({ where, orderBy, limit, offset }) =>
      ctx.db
        .select()
        .from(auditLogs)
        .where(where)
        .orderBy(...orderBy)
        .limit(limit)
        .offset(offset),
    count: async (where) => {
      const [row] = await ctx.db.select({ n: count() }).from(auditLogs).where(where);
      return Number(row?.n ?? 0);
    },
  });
  return { data: page.data.map(toAuditEntry), pagination: page.pagination };
}

/** Recomputes a scope's chain (a building id or "platform") and reports the first broken link. */
export async function verifyScope(
  ctx: VerbContext,
  scope: string,
): Promise<ChainReport & { verifiedAt: string }> {
  const report = await verifyAuditChain(ctx.db, scope === PLATFORM_SCOPE ? PLATFORM_SCOPE : scope);
  return { ...report, verifiedAt: ctx.now.toISOString() };
}
