/**
 * Building verbs: create (platform admin, optionally with a first manager), update (managers),
 * read (members) and list (the caller's buildings; admins see all).
 */
import { and, asc, eq, exists, isNull, type SQL } from "drizzle-orm";
import { buildings, memberships, users } from "../../db/schema";
import { ApiError } from "../../errors";
import type { PaginationQuery } from "../../http/pagination";
import { inTransaction, userOf, type VerbContext } from "../../verbs";
import { recordAudit } from "../audit/chain";
import { bumpBuildingVersion } from "../sync/version";
import { actorId, listPage, membershipOf, requireManager, snapshot } from "./common";

export type BuildingRow = typeof buildings.$inferSelect;

export interface BuildingInput {
  name: string;
  addressLine: string;
  city: string;
  country: string;
  postalCode?: string | null;
  timezone?: string;
  defaultLocale?: string;
  currency?: string;
}

export async function createBuilding(args: {
  ctx: VerbContext;
  input: BuildingInput & { managerUserId?: string };
}): Promise<BuildingRow> {
  const { ctx, input } = args;
  if (!userOf(ctx)?.isAdmin) throw new ApiError("FORBIDDEN", "platform administrators only");
  const { managerUserId, ...fields } = input;
  return inTransaction(ctx, async (tx) => {
    const [inserted] = await tx.db.insert(buildings).values(fields).returning();
    const building = inserted!;
    // The building row is its own version counter: the first bump stamps it as version 1.
    const version = await bumpBuildingVersion(tx.db, building.id);
    await recordAudit(tx, {
      action: "building.create",
      entityType: "building",
      entityId: building.id,
      buildingId: building.id,
      changes: { after: snapshot({ ...building, syncVersion: version }) },
    });
    if (managerUserId) {
      const [user] = await tx.db
        .select({ id: users.id })
        .from(users)
        .where(and(eq(users.id, managerUserId), isNull(users.deletedAt)));
      if (!user) throw new ApiError("UNPROCESSABLE", "managerUserId does not name an existing user");
      const [membership] = await tx.db
        .insert(memberships)
        .values({ buildingId: building.id, userId: managerUserId, role: "manager", syncVersion: version })
        .returning();
      await recordAudit(tx, {
        action: "membership.create",
        entityType: "membership",
        entityId: membership!.id,
        buildingId: building.id,
        changes: { after: snapshot(membership) },
      });
    }
    return { ...building, syncVersion: version };
  });
}

export async function updateBuilding(args: {
  ctx: VerbContext;
  buildingId: string;
  input: Partial<BuildingInput>;
  /** Runs on the current row inside the transaction (If-Match checks); throwing aborts the write. */
  precondition?: (before: BuildingRow) => void;
}): Promise<BuildingRow> {
  const { ctx, buildingId, input, precondition } = args;
  requireManager(ctx, buildingId);
  return inTransaction(ctx, async (tx) => {
    const before = await getBuilding({ ctx: tx, buildingId });
    precondition?.(before);
    const version = await bumpBuildingVersion(tx.db, buildingId);
    const [row] = await tx.db
      .update(buildings)
      .set({ ...input, updatedAt: tx.now })
      .where(and(eq(buildings.id, buildingId), isNull(buildings.deletedAt)))
      .returning();
    await recordAudit(tx, {
      action: "building.update",
      entityType: "building",
      entityId: buildingId,
      buildingId,
      changes: { before: snapshot(before), after: snapshot(row) },
    });
    return { ...row!, syncVersion: version };
  });
}

export async function getBuilding(args: { ctx: VerbContext; buildingId: string }): Promise<BuildingRow> {
  const { ctx, buildingId } = args;
  membershipOf(ctx, buildingId);
  const [row] = await ctx.db
    .select()
    .from(buildings)
    .where(and(eq(buildings.id, buildingId), isNull(buildings.deletedAt)));
  if (!row) throw new ApiError("NOT_FOUND", "building not found");
  return row;
}

/** The buildings the caller is an active member of; platform admins list every building. */
export async function listBuildings(args: { ctx: VerbContext; query: PaginationQuery }) {
  const { ctx, query } = args;
  const userId = actorId(ctx);
  const admin = userOf(ctx)?.isAdmin ?? false;
  let where: SQL | undefined = isNull(buildings.deletedAt);
  if (!admin) {
    const mine = ctx.db
      .select({ one: memberships.id })
      .from(memberships)
      .where(
        and(
          eq(memberships.buildingId, buildings.id),
          eq(memberships.userId, userId),
          isNull(memberships.deletedAt),
        ),
      );
    where = and(where, exists(mine));
  }
  return listPage<BuildingRow>(ctx, query, {
    table: buildings,
    where,
    scope: admin ? "buildings:all" : `buildings:user:${userId}`,
    sort: { column: buildings.createdAt, id: buildings.id, direction: "asc", key: (r) => r.createdAt },
    fetch: ({ where, orderBy, limit, offset }) =>
      ctx.db
        .select()
        .from(buildings)
        .where(where)
        .orderBy(...(orderBy.length ? orderBy : [asc(buildings.createdAt)]))
        .limit(limit)
        .offset(offset),
  });
}
