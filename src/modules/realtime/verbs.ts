/** Framework-free realtime verbs: room tokens, a member's current standing, presence reads. */
import { and, eq, isNull } from "drizzle-orm";
import { buildings, memberships, users } from "../../db/schema";
import { ApiError } from "../../errors";
import type { DbOrTx } from "../../platform/db";
import type { PresenceMember } from "../../protocol/realtime";
import { userOf, type VerbContext } from "../../verbs";
import { presenceOf } from "./presence";
import { signRoomToken } from "./token";

export interface Standing {
  /** The role the user acts with in the building now (platform admins: manager); null = none. */
  role: "manager" | "resident" | null;
  /** The building's sync version now: the membership epoch a new room token carries. */
  version: number;
  /** The version the membership row last changed at: tokens minted before it are stale. */
  membershipVersion: number;
}

/**
 * What a user may do in a building right now: their role (null when not a member, the building
 * is gone, or the account is not active) and the building version. Read in one statement, so a
 * role and version always belong to the same committed state.
 */
export async function currentStanding(db: DbOrTx, buildingId: string, userId: string): Promise<Standing> {
  const [row] = await db
    .select({
      version: buildings.syncVersion,
      role: memberships.role,
      membershipVersion: memberships.syncVersion,
      status: users.status,
      deletedAt: users.deletedAt,
      isAdmin: users.isPlatformAdmin,
    })
    .from(buildings)
    .leftJoin(users, eq(users.id, userId))
    .leftJoin(
      memberships,
      and(
        eq(memberships.buildingId, buildings.id),
        eq(memberships.userId, userId),
        isNull(memberships.deletedAt),
      ),
    )
    .where(and(eq(buildings.id, buildingId), isNull(buildings.deletedAt)))
    .limit(1);
  if (!row) return { role: null, version: 0, membershipVersion: 0 };
  const active = row.status === "active" && !row.deletedAt;
  const role = !active ? null : (row.role ?? (row.isAdmin ? "manager" : null));
  return { role, version: Number(row.version), membershipVersion: Number(row.membershipVersion ?? 0) };
}

/**
 * A short-lived room token for a building the caller belongs to (platform admins join as
 * managers). Another building, or none, answers 404 so existence is not revealed; a restricted
 * account gets 403. The token carries the building version (ADR 0003).
 */
export async function issueRoomToken({
  ctx,
  input,
}: {
  ctx: VerbContext;
  input: { buildingId: string; deviceId: string };
}): Promise<{ token: string; expiresAt: Date; role: "manager" | "resident" }> {
  const actor = userOf(ctx);
  if (!actor) throw new ApiError("UNAUTHENTICATED", "sign in first");
  const { role, version } = await currentStanding(ctx.db, input.buildingId, actor.userId);
  if (!role) {
    const [user] = await ctx.db
      .select({ status: users.status })
      .from(users)
      .where(eq(users.id, actor.userId))
      .limit(1);
    if (user?.status === "restricted")
      throw new ApiError("FORBIDDEN", "this account is restricted; contact support");
    throw new ApiError("NOT_FOUND", "building not found");
  }
  const { config } = ctx.services;
  const { token, expiresAt } = await signRoomToken(
    { userId: actor.userId, buildingId: input.buildingId, role, deviceId: input.deviceId, version },
    config.JWT_SECRET!,
    ctx.now,
    config.REALTIME_TOKEN_TTL_SECONDS,
  );
  return { token, expiresAt, role };
}

export interface PresenceSummary {
  userId: string;
  role: "manager" | "resident";
  since: string;
  devices: Array<{ deviceId: string; since: string }>;
}

/** Online members of a building, grouped by user (online while any device is). */
export async function buildingPresence({
  ctx,
  buildingId,
}: {
  ctx: VerbContext;
  buildingId: string;
}): Promise<PresenceSummary[]> {
  const members: PresenceMember[] = await presenceOf(ctx.services).getOnlineUsers(buildingId);
  const byUser = new Map<string, PresenceSummary>();
  for (const m of members) {
    const u = byUser.get(m.userId) ?? { userId: m.userId, role: m.role, since: m.since, devices: [] };
    u.devices.push({ deviceId: m.deviceId, since: m.since });
    if (m.since < u.since) u.since = m.since;
    byUser.set(m.userId, u);
  }
  return [...byUser.values()];
}
