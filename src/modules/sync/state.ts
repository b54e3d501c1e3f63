/**
 * Sync state per user, device and entity (design: SyncState): when the device last pulled and
 * pushed, and how many ops it still had queued. Written after the sync work itself, best effort:
 * bookkeeping never fails a pull or push that already succeeded. A push writes it as the last
 * statement of its own transaction (one commit instead of two), inside a savepoint so that a
 * failure here rolls back only the bookkeeping.
 */
import { sql } from "drizzle-orm";
import { syncState } from "../../db/schema";
import type { DbOrTx } from "../../platform/db";
import type { VerbContext } from "../../verbs";

export interface SyncStateUpdate {
  userId: string;
  deviceId: string;
  entities: string[];
  pulledAt?: Date;
  pushedAt?: Date;
  pending?: Record<string, number>;
}

export async function recordSyncState(
  ctx: VerbContext,
  u: SyncStateUpdate,
  options: { savepoint?: boolean } = {},
): Promise<void> {
  // Sorted: concurrent writers of the same rows lock them in one order.
  const names = [...new Set([...u.entities, ...Object.keys(u.pending ?? {})])]
    .filter((e) => e.length <= 64)
    .sort();
  if (names.length === 0) return;
  const rows = names.map((entityType) => ({
    userId: u.userId,
    deviceId: u.deviceId,
    entityType,
    lastSyncAt: u.pulledAt ?? null,
    lastPushAt: u.pushedAt ?? null,
    pendingOps: Math.max(0, Math.floor(u.pending?.[entityType] ?? 0)),
  }));
  const write = (db: DbOrTx) =>
    db
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
  try {
    if (options.savepoint) await ctx.db.transaction((sp) => write(sp));
    else await write(ctx.db);
  } catch (err) {
    ctx.services.logger.warn(
      { event: "sync.state_failed", err: { message: (err as Error).message } },
      "sync state not recorded",
    );
  }
}
