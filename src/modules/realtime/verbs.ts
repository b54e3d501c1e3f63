/** Framework-free realtime verbs: room tokens and presence reads. */
import { and, eq, isNull } from "drizzle-orm";
import { buildings, memberships } from "../../db/schema";
import { ApiError } from "../../http/errors";
import type { VerbContext } from "../../verbs";
import type { PresenceMember } from "./protocol";
import { signRoomToken } from "./token";

/**
 * A short-lived room token for a building the caller belongs to (platform admins join as
 * managers). Another building, or none, answers 404 so existence is not revealed.
 */
export async function issueRoomToken({
  ctx,
  input,
}: {
  ctx: VerbContext;
  input: { buildingId: string; deviceId: string };
}): Promise<{ token: string; expiresAt: Date; role: "manager" | "resident" }> {
  const actor = ctx.actor;
  if (!actor) throw new ApiError("UNAUTHENTICATED", "sign in first");
  const [row] = await ctx.db
    .select({ id: buildings.id, role: memberships.role })
    .from(buildings)
    .leftJoin(
      memberships,
      and(
        eq(memberships.buildingId, buildings.id),
        eq(memberships.userId, actor.userId),
        isNull(memberships.deletedAt),
      ),
    )
    .where(and(eq(buildings.id, input.buildingId), isNull(buildings.deletedAt)))
    .limit(1);
  const role = row?.role ?? (row && actor.isAdmin ? "manager" : null);
  if (!role) throw new ApiError("NOT_FOUND", "building not found");
  const { config } = ctx.services;
  const { token, expiresAt } = await signRoomToken(
    { userId: actor.userId, buildingId: input.buildingId, role, deviceId: input.deviceId },
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
  const members: PresenceMember[] = await ctx.services.presence.getOnlineUsers(buildingId);
  const byUser = new Map<string, PresenceSummary>();
  for (const m of members) {
    const u = byUser.get(m.userId) ?? { userId: m.userId, role: m.role, since: m.since, devices: [] };
    u.devices.push({ deviceId: m.deviceId, since: m.since });
    if (m.since < u.since) u.since = m.since;
    byUser.set(m.userId, u);
  }
  return [...byUser.values()];
}
