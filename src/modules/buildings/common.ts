/**
 * Pieces shared by the domain modules (buildings, maintenance, announcements, payments): path
 * parameter schemas, ISO timestamp shaping, the tenant guard helpers and one list helper over
 * paginate(). Framework-free: verbs and routes both import it.
 */
import { z } from "@hono/zod-openapi";
import { count, type SQL } from "drizzle-orm";
import type { AnyPgColumn, PgTable } from "drizzle-orm/pg-core";
import { ApiError } from "../../errors";
import type { MembershipInfo } from "../../http/auth";
import { type Paginated, type PaginationQuery, paginate } from "../../http/pagination";
import { userOf, type VerbContext } from "../../verbs";

/** A uuid path parameter; malformed ids answer 400 VALIDATION_FAILED before any query runs. */
export const uuidParam = (name: string) =>
  z.uuid().openapi({ param: { name, in: "path" }, example: "0b6f4b1e-8a0e-4c1e-9a55-3f1d2e4c5b6a" });

export const BuildingParams = z.object({ buildingId: uuidParam("buildingId") });

export const Timestamp = z.string().openapi({ format: "date-time", example: "2026-07-01T09:30:00.000Z" });

export const iso = (d: Date): string => d.toISOString();
export const isoOrNull = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

/** The timestamps every domain response carries, as ISO strings. */
export function rowTimes(row: { createdAt: Date; updatedAt: Date; deletedAt?: Date | null }) {
  return {
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
    ...(row.deletedAt !== undefined ? { deletedAt: isoOrNull(row.deletedAt) } : {}),
  };
}

/** The caller's membership of the building the verb acts on; routes set it through access rules. */
export function membershipOf(ctx: VerbContext, buildingId: string): MembershipInfo {
  const m = ctx.membership;
  if (!m || m.buildingId !== buildingId) throw new ApiError("NOT_FOUND", "building not found");
  return m;
}

export function requireManager(ctx: VerbContext, buildingId: string): MembershipInfo {
  const m = membershipOf(ctx, buildingId);
  if (m.role !== "manager") throw new ApiError("FORBIDDEN", "building managers only");
  return m;
}

export function actorId(ctx: VerbContext): string {
  const user = userOf(ctx);
  if (!user) throw new ApiError("UNAUTHENTICATED", "no acting user");
  return user.userId;
}

/** Serializes a row for an audit `changes` entry (Dates as ISO strings, no functions). */
export const snapshot = <T>(row: T): T => JSON.parse(JSON.stringify(row)) as T;

export interface ListOptions<T> {
  table: PgTable;
  where: SQL | undefined;
  sort: {
    column: AnyPgColumn;
    id: AnyPgColumn;
    direction: "asc" | "desc";
    key: (row: T) => Date | number | string;
  };
  /** Identifies the list (route, building, caller scope, filters) so cursors cannot cross lists. */
  scope: string;
  fetch: (args: { where?: SQL; orderBy: SQL[]; limit: number; offset: number }) => Promise<T[]>;
}

/** paginate() with the count query and the cursor secret filled in. */
export function listPage<T extends { id: string }>(
  ctx: VerbContext,
  query: PaginationQuery,
  opts: ListOptions<T>,
): Promise<Paginated<T>> {
  return paginate<T>({
    query,
    scope: opts.scope,
    secret: ctx.services.config.JWT_SECRET ?? "horizon-cursor",
    now: ctx.now,
    sort: opts.sort,
    where: opts.where,
    fetch: opts.fetch,
    count: async (where) => {
      const [row] = await ctx.db.select({ n: count() }).from(opts.table).where(where);
      return Number(row?.n ?? 0);
    },
  });
}

/** C0 controls other than tab, newline and carriage return, and DEL. */
function hasControlChars(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x7f) return true;
  }
  return false;
}

/** Trims a free-text input and refuses control characters other than tabs and newlines. */
export const text = (max: number, min = 1) =>
  z
    .string()
    .trim()
    .min(min)
    .max(max)
    .refine((s) => !hasControlChars(s), "control characters are not allowed");
