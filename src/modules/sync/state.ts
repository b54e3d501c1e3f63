/**
 * Sync state per user, device and entity (design: SyncState): when the device last pulled and
 * pushed, and how many ops it still had queued. Written after the sync work itself, best effort:
 * bookkeeping never fails a pull or push that already succeeded.
 */
import { sql } from "drizzle-orm";
import { syncState } from "../../db/schema";
import type { VerbContext } from "../../verbs";

export interface SyncStateUpdate {
  userId: string;
  deviceId: string;
  entities: string[];
  pulledAt?: Date;
  pushedAt?: Date;
  pending?: Record<string, number>;
}

export async function recordSyncState(ctx: VerbContext, u: SyncStateUpdate): Promise<void> {
  const names = [...new Set([...u.entities, ...Object.keys(u.pending ?? {})])].filter((e) => e.length <= 64);
  if (names.length === 0) return;
  const rows = names.map((entityType) => ({
    userId: u.userId,
    deviceId: u.deviceId,
    entityType,
    lastSyncAt: u.pulledAt ?? null,
    lastPushAt: u.pushedAt ?? null,
    pendingOps: Math.max(0, Math.floor(u.pending?.[entityType] ?? 0)),
  }));
  try {
    await ctx.db
      .insert(syncState)
      .values(rows)
      .onConflictDoUpdate({
        target: [syncState.userId, syncState.deviceId, syncState.entityType],
        set: {
          lastSyncAt: sql`coalesce(excluded.last_sync_at, ${syncState.lastSyncAt})`,
          lastPushAt: sql`coalesce(excluded.last_push_at, ${syncState.lastPushAt})`,
          pendingOps: u.pending ? sql`excluded.pending_ops` : sql`${syncState.pendingOps}`,
        },
      });
  } catch (err) {
    ctx.services.logger.warn(
      { event: "sync.state_failed", err: { message: (err as Error).message } },
      "sync state not recorded",
    );
  }
}
