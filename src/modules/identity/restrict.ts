/**
 * Account restriction (design: AnomalyDetectionService.restrictAccount): the user can no longer
 * sign in or refresh (sessions.ts refuses non-active accounts), and their live access ends too:
 * in every building they belong to, a realtime revocation closes their room sockets and event
 * streams after commit and voids room tokens minted before it (ADR 0003).
 */
import { and, eq, isNull } from "drizzle-orm";
import { memberships, users } from "../../db/schema";
import { ApiError } from "../../errors";
import { inTransaction, type VerbContext } from "../../verbs";
import { recordAudit } from "../audit/chain";
import { recordRevocation } from "../realtime/publish";
import { bumpBuildingVersion } from "../sync/version";

export async function restrictAccount({
  ctx,
  userId,
  reason,
}: {
  ctx: VerbContext;
  userId: string;
  reason: string;
}): Promise<{ buildings: string[] }> {
  return inTransaction(ctx, async (tx) => {
    const [user] = await tx.db
      .update(users)
      .set({ status: "restricted", updatedAt: tx.now })
      .where(and(eq(users.id, userId), isNull(users.deletedAt)))
      .returning({ id: users.id });
    if (!user) throw new ApiError("NOT_FOUND", `user ${userId} not found`);
    await recordAudit(tx, {
      action: "user.restrict",
      entityType: "user",
      entityId: userId,
      changes: { after: { status: "restricted" }, reason },
    });
    const rows = await tx.db
      .select({ buildingId: memberships.buildingId })
      .from(memberships)
      .where(and(eq(memberships.userId, userId), isNull(memberships.deletedAt)))
      .orderBy(memberships.buildingId);
    // A new version per building gives the revocation an epoch no earlier token can reach; tokens
    // minted after a later lift of the restriction carry a higher one.
    for (const { buildingId } of rows) {
      const version = await bumpBuildingVersion(tx.db, buildingId);
      await recordRevocation(tx.db, { buildingId, userId, version, reason: "restricted" });
    }
    return { buildings: rows.map((r) => r.buildingId) };
  });
}
