/**
 * Membership verbs (managers): list, add or invite, change role/apartment, remove (soft). Every
 * write bumps the building version first (which locks the building's version row, so the
 * "last manager" check cannot race) and writes its audit row in the same transaction. Removing a
 * member or changing their role also records a realtime revocation in that transaction: after
 * commit their room sockets and event streams close and older room tokens stop admitting.
 *
 * Invitations: adding an email with no account creates a user row with status "invited" and an
 * unusable password hash ("!invited" never verifies), so the membership can reference it at once;
 * signing up with that email later claims the row. No separate invitations table is needed.
 */
import { and, eq, getTableColumns, isNull, type SQL, sql } from "drizzle-orm";
import { memberships, users } from "../../db/schema";
import { ApiError } from "../../errors";
import type { Role } from "../../http/auth";
import type { PaginationQuery } from "../../http/pagination";
import { inTransaction, type VerbContext } from "../../verbs";
import { recordAudit } from "../audit/chain";
import { recordDomainEvent } from "../events";
import { recordRevocation } from "../realtime/publish";
import { bumpBuildingVersion } from "../sync/version";
import { findApartment } from "./apartment-verbs";
import { actorId, listPage, requireManager, snapshot } from "./common";
import type { MemberRow } from "./schemas";

export const INVITED_PASSWORD_HASH = "!invited";

export interface AddMemberInput {
  email?: string;
  userId?: string;
  /** Display name for an invited user (defaults to the email's local part). */
  name?: string;
  role: Role;
  apartmentId?: string | null;
}

const memberColumns = {
  ...getTableColumns(memberships),
  user: { name: users.name, email: users.email, status: users.status },
};

function selectMembers(ctx: VerbContext) {
  return ctx.db.select(memberColumns).from(memberships).innerJoin(users, eq(users.id, memberships.userId));
}

export async function findMember(ctx: VerbContext, buildingId: string, memberId: string): Promise<MemberRow> {
  const [row] = await selectMembers(ctx).where(
    and(eq(memberships.id, memberId), eq(memberships.buildingId, buildingId), isNull(memberships.deletedAt)),
  );
  if (!row) throw new ApiError("NOT_FOUND", `member ${memberId} not found`);
  return row;
}

async function managerCount(ctx: VerbContext, buildingId: string): Promise<number> {
  const [row] = await ctx.db
    .select({ n: sql<number>`count(*)::int` })
    .from(memberships)
    .where(
      and(
        eq(memberships.buildingId, buildingId),
        eq(memberships.role, "manager"),
        isNull(memberships.deletedAt),
      ),
    );
  return Number(row?.n ?? 0);
}

function checkPlacement(role: Role, apartmentId: string | null | undefined) {
  if (role === "resident" && !apartmentId) {
    throw new ApiError("UNPROCESSABLE", "a resident belongs to an apartment: apartmentId is required", {
      errors: [{ path: "json.apartmentId", message: "required for role resident" }],
    });
  }
}

/** Finds the user by id or email; an unknown email becomes an invited user. */
async function resolveUser(tx: VerbContext, buildingId: string, input: AddMemberInput) {
  if (input.userId) {
    const [user] = await tx.db
      .select({ id: users.id })
      .from(users)
      .where(and(eq(users.id, input.userId), isNull(users.deletedAt)));
    if (!user) throw new ApiError("NOT_FOUND", `user ${input.userId} not found`);
    return { userId: user.id, invited: false };
  }
  const email = input.email!.trim().toLowerCase();
  const [existing] = await tx.db
    .select({ id: users.id, status: users.status })
    .from(users)
    .where(sql`lower(${users.email}) = ${email}`);
  if (existing) return { userId: existing.id, invited: existing.status === "invited" };
  const [created] = await tx.db
    .insert(users)
    .values({
      email,
      name: input.name ?? email.split("@")[0]!,
      passwordHash: INVITED_PASSWORD_HASH,
      status: "invited",
    })
    .returning({ id: users.id });
  await recordAudit(tx, {
    action: "user.invite",
    entityType: "user",
    entityId: created!.id,
    buildingId,
    changes: { after: { email, status: "invited" } },
  });
  return { userId: created!.id, invited: true };
}

export async function addMember(args: {
  ctx: VerbContext;
  buildingId: string;
  input: AddMemberInput;
}): Promise<{ member: MemberRow; invited: boolean }> {
  const { ctx, buildingId, input } = args;
  requireManager(ctx, buildingId);
  if (Boolean(input.email) === Boolean(input.userId)) {
    throw new ApiError("VALIDATION_FAILED", "give exactly one of email or userId");
  }
  checkPlacement(input.role, input.apartmentId);
  return inTransaction(ctx, async (tx) => {
    const version = await bumpBuildingVersion(tx.db, buildingId);
    if (input.apartmentId) await findApartment(tx, buildingId, input.apartmentId);
    const { userId, invited } = await resolveUser(tx, buildingId, input);
    const [already] = await tx.db
      .select({ id: memberships.id })
      .from(memberships)
      .where(
        and(
          eq(memberships.buildingId, buildingId),
          eq(memberships.userId, userId),
          isNull(memberships.deletedAt),
        ),
      );
    if (already) throw new ApiError("ALREADY_EXISTS", "this user is already a member of the building");
    const [row] = await tx.db
      .insert(memberships)
      .values({
        buildingId,
        userId,
        role: input.role,
        apartmentId: input.apartmentId ?? null,
        syncVersion: version,
      })
      .returning();
    await recordAudit(tx, {
      action: "membership.create",
      entityType: "membership",
      entityId: row!.id,
      buildingId,
      changes: { after: snapshot(row) },
    });
    await recordDomainEvent(tx.db, {
      type: "member.joined",
      buildingId,
      actorId: actorId(tx),
      data: { memberId: row!.id, userId, role: row!.role, apartmentId: row!.apartmentId, invited },
    });
    return { member: await findMember(tx, buildingId, row!.id), invited };
  });
}

export async function updateMember(args: {
  ctx: VerbContext;
  buildingId: string;
  memberId: string;
  input: { role?: Role; apartmentId?: string | null };
}): Promise<MemberRow> {
  const { ctx, buildingId, memberId, input } = args;
  requireManager(ctx, buildingId);
  return inTransaction(ctx, async (tx) => {
    const version = await bumpBuildingVersion(tx.db, buildingId);
    const before = await findMember(tx, buildingId, memberId);
    const role = input.role ?? before.role;
    const apartmentId = input.apartmentId !== undefined ? input.apartmentId : before.apartmentId;
    checkPlacement(role, apartmentId);
    if (apartmentId && apartmentId !== before.apartmentId) await findApartment(tx, buildingId, apartmentId);
    if (before.role === "manager" && role !== "manager" && (await managerCount(tx, buildingId)) <= 1) {
      throw new ApiError(
        "CONFLICT",
        "the building's last manager cannot be demoted; appoint another manager first",
      );
    }
    const [row] = await tx.db
      .update(memberships)
      .set({ role, apartmentId, syncVersion: version, updatedAt: tx.now })
      .where(and(eq(memberships.id, memberId), eq(memberships.buildingId, buildingId)))
      .returning();
    const { user: _user, ...beforeRow } = before;
    await recordAudit(tx, {
      action: "membership.update",
      entityType: "membership",
      entityId: memberId,
      buildingId,
      changes: { before: snapshot(beforeRow), after: snapshot(row) },
    });
    if (role !== before.role) {
      await recordRevocation(tx.db, { buildingId, userId: before.userId, version, reason: "role_changed" });
    }
    return { ...row!, user: before.user };
  });
}

export async function removeMember(args: {
  ctx: VerbContext;
  buildingId: string;
  memberId: string;
}): Promise<MemberRow> {
  const { ctx, buildingId, memberId } = args;
  requireManager(ctx, buildingId);
  return inTransaction(ctx, async (tx) => {
    const version = await bumpBuildingVersion(tx.db, buildingId);
    const before = await findMember(tx, buildingId, memberId);
    if (before.role === "manager" && (await managerCount(tx, buildingId)) <= 1) {
      throw new ApiError(
        "CONFLICT",
        "the building's last manager cannot be removed; appoint another manager first",
      );
    }
    const [row] = await tx.db
      .update(memberships)
      .set({ deletedAt: tx.now, syncVersion: version, updatedAt: tx.now })
      .where(and(eq(memberships.id, memberId), eq(memberships.buildingId, buildingId)))
      .returning();
    const { user: _user, ...beforeRow } = before;
    await recordAudit(tx, {
      action: "membership.delete",
      entityType: "membership",
      entityId: memberId,
      buildingId,
      changes: { before: snapshot(beforeRow), after: snapshot(row) },
    });
    await recordRevocation(tx.db, { buildingId, userId: before.userId, version, reason: "removed" });
    await recordDomainEvent(tx.db, {
      type: "member.left",
      buildingId,
      actorId: actorId(tx),
      data: { memberId, userId: before.userId },
    });
    return { ...row!, user: before.user };
  });
}

export async function listMembers(args: {
  ctx: VerbContext;
  buildingId: string;
  query: PaginationQuery;
  role?: Role;
  apartmentId?: string;
}) {
  const { ctx, buildingId, query, role, apartmentId } = args;
  requireManager(ctx, buildingId);
  let where: SQL | undefined = and(eq(memberships.buildingId, buildingId), isNull(memberships.deletedAt));
  if (role) where = and(where, eq(memberships.role, role));
  if (apartmentId) where = and(where, eq(memberships.apartmentId, apartmentId));
  return listPage<MemberRow>(ctx, query, {
    table: memberships,
    where,
    scope: `members:${buildingId}:${role ?? ""}:${apartmentId ?? ""}`,
    sort: { column: memberships.createdAt, id: memberships.id, direction: "asc", key: (r) => r.createdAt },
    fetch: (q) =>
      selectMembers(ctx)
        .where(q.where)
        .orderBy(...q.orderBy)
        .limit(q.limit)
        .offset(q.offset),
  });
}
