/**
 * Apartment verbs: managers create, edit and soft-delete (a tombstone with deleted_at and the new
 * sync version, so offline clients learn of the deletion); members read. Every write runs in one
 * transaction that first bumps the building version, which also serializes writes per building
 * and makes the duplicate-number check race-free.
 */
import { and, eq, isNull, ne, type SQL } from "drizzle-orm";
import { apartments, memberships } from "../../db/schema";
import { ApiError } from "../../errors";
import type { PaginationQuery } from "../../http/pagination";
import { inTransaction, type VerbContext } from "../../verbs";
import { bumpBuildingVersion } from "../sync/version";
import { cascadeDeletes } from "../sync/working-set";
import { listPage, membershipOf, requireManager } from "./common";

export type ApartmentRow = typeof apartments.$inferSelect;

export interface ApartmentInput {
  number: string;
  floor?: number | null;
  areaSqm?: number | null;
  rooms?: number | null;
}

/** A live apartment of `buildingId`, or 404 (also for apartments of other buildings). */
export async function findApartment(
  ctx: VerbContext,
  buildingId: string,
  apartmentId: string,
): Promise<ApartmentRow> {
  const [row] = await ctx.db
    .select()
    .from(apartments)
    .where(
      and(
        eq(apartments.id, apartmentId),
        eq(apartments.buildingId, buildingId),
        isNull(apartments.deletedAt),
      ),
    );
  if (!row) throw new ApiError("NOT_FOUND", `apartment ${apartmentId} not found`);
  return row;
}

async function assertNumberFree(ctx: VerbContext, buildingId: string, number: string, exceptId?: string) {
  const conditions = [
    eq(apartments.buildingId, buildingId),
    eq(apartments.number, number),
    isNull(apartments.deletedAt),
  ];
  if (exceptId) conditions.push(ne(apartments.id, exceptId));
  const [dup] = await ctx.db
    .select({ id: apartments.id })
    .from(apartments)
    .where(and(...conditions))
    .limit(1);
  if (dup) throw new ApiError("ALREADY_EXISTS", `apartment number ${number} already exists in this building`);
}

export async function createApartment(args: {
  ctx: VerbContext;
  buildingId: string;
  input: ApartmentInput;
}): Promise<ApartmentRow> {
  const { ctx, buildingId, input } = args;
  requireManager(ctx, buildingId);
  return inTransaction(ctx, async (tx) => {
    const version = await bumpBuildingVersion(tx.db, buildingId);
    await assertNumberFree(tx, buildingId, input.number);
    const [row] = await tx.db
      .insert(apartments)
      .values({ ...input, buildingId, syncVersion: version })
      .returning();
    return row!;
  });
}

export async function updateApartment(args: {
  ctx: VerbContext;
  buildingId: string;
  apartmentId: string;
  input: Partial<ApartmentInput>;
  /** Runs on the current row inside the transaction (If-Match checks); throwing aborts the write. */
  precondition?: (before: ApartmentRow) => void;
}): Promise<ApartmentRow> {
  const { ctx, buildingId, apartmentId, input, precondition } = args;
  requireManager(ctx, buildingId);
  return inTransaction(ctx, async (tx) => {
    const version = await bumpBuildingVersion(tx.db, buildingId);
    precondition?.(await findApartment(tx, buildingId, apartmentId));
    if (input.number !== undefined) await assertNumberFree(tx, buildingId, input.number, apartmentId);
    const [row] = await tx.db
      .update(apartments)
      .set({ ...input, syncVersion: version, updatedAt: tx.now })
      .where(and(eq(apartments.id, apartmentId), eq(apartments.buildingId, buildingId)))
      .returning();
    return row!;
  });
}

/**
 * Soft delete, with its requests and their comments. An apartment that still has residents cannot
 * go (409): move or remove them first.
 */
export async function deleteApartment(args: {
  ctx: VerbContext;
  buildingId: string;
  apartmentId: string;
}): Promise<ApartmentRow> {
  const { ctx, buildingId, apartmentId } = args;
  requireManager(ctx, buildingId);
  return inTransaction(ctx, async (tx) => {
    const version = await bumpBuildingVersion(tx.db, buildingId);
    await findApartment(tx, buildingId, apartmentId);
    const [occupied] = await tx.db
      .select({ id: memberships.id })
      .from(memberships)
      .where(
        and(
          eq(memberships.buildingId, buildingId),
          eq(memberships.apartmentId, apartmentId),
          isNull(memberships.deletedAt),
        ),
      )
      .limit(1);
    if (occupied)
      throw new ApiError("CONFLICT", "the apartment still has members; move or remove them first");
    const [row] = await tx.db
      .update(apartments)
      .set({ deletedAt: tx.now, syncVersion: version, updatedAt: tx.now })
      .where(and(eq(apartments.id, apartmentId), eq(apartments.buildingId, buildingId)))
      .returning();
    // Its maintenance requests and their comments go with it, at the same version, as a sync
    // delete of the apartment does (clients see one consistent deletion either way).
    await cascadeDeletes(tx.db, "apartments", [apartmentId], version, tx.now);
    return row!;
  });
}

export async function getApartment(args: {
  ctx: VerbContext;
  buildingId: string;
  apartmentId: string;
}): Promise<{ row: ApartmentRow; full: boolean }> {
  const { ctx, buildingId, apartmentId } = args;
  const m = membershipOf(ctx, buildingId);
  const row = await findApartment(ctx, buildingId, apartmentId);
  return { row, full: m.role === "manager" || m.apartmentId === row.id };
}

export async function listApartments(args: {
  ctx: VerbContext;
  buildingId: string;
  query: PaginationQuery;
  floor?: number;
}) {
  const { ctx, buildingId, query, floor } = args;
  const m = membershipOf(ctx, buildingId);
  let where: SQL | undefined = and(eq(apartments.buildingId, buildingId), isNull(apartments.deletedAt));
  if (floor !== undefined) where = and(where, eq(apartments.floor, floor));
  const page = await listPage<ApartmentRow>(ctx, query, {
    table: apartments,
    where,
    scope: `apartments:${buildingId}:${floor ?? ""}`,
    sort: { column: apartments.createdAt, id: apartments.id, direction: "asc", key: (r) => r.createdAt },
    fetch: (q) =>
      ctx.db
        .select()
        .from(apartments)
        .where(q.where)
        .orderBy(...q.orderBy)
        .limit(q.limit)
        .offset(q.offset),
  });
  const full = (row: ApartmentRow) => m.role === "manager" || m.apartmentId === row.id;
  return { ...page, data: page.data.map((row) => ({ row, full: full(row) })) };
}
