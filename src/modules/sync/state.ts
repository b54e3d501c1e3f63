/**
 * Sync state per user, device and entity (design: SyncState): when the device last pulled and
 * pushed, and how many ops it still had queued. Written after the sync work itself, best effort:
 * bookkeeping never fails a pull or push that already succeeded, and a device syncing often is
 * recorded at most every SYNC_STATE_EVERY_MS (see syncStateDue). A push writes it as the last
 * statement of its own transaction (one commit instead of two), inside a savepoint so that a
 * failure here rolls back only the bookkeeping.
 */
import { sql } from "drizzle-orm";
import { syncState } from "../../db/schema";
import { ApiError, type FieldError } from "../../errors";
import type { DbOrTx } from "../../platform/db";
import type { VerbContext } from "../../verbs";
import { ENTITIES, entityDef } from "./entities";

/** The most ops a device may report queued for one entity. */
export const MAX_PENDING_OPS = 1_000_000;

/**
 * A pull's pending counts: keyed by synced entity, each a whole number in 0..MAX_PENDING_OPS, or
 * 400 VALIDATION_FAILED. Every key is a sync_state row, so invented keys wrote one row each (10
 * pulls of 10,000 keys: 100,060 rows; 60,000 overflowed the bind-parameter limit). A push
 * carrying such keys is not refused — its edits matter more than its bookkeeping — they are only
 * left unrecorded (see recordSyncState).
 */
export function checkPendingCounts(pending: Record<string, unknown> | undefined): void {
  if (!pending) return;
  const errors: FieldError[] = [];
  let count = 0;
  for (const [key, value] of Object.entries(pending)) {
    count++;
    if (errors.length >= 20) continue;
    if (!entityDef(key))
      errors.push({ path: `body.pending.${key}`, message: "not a synced entity", code: "invalid_key" });
    else if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > MAX_PENDING_OPS)
      errors.push({
        path: `body.pending.${key}`,
        message: `a whole number from 0 to ${MAX_PENDING_OPS}`,
        code: "invalid_value",
      });
  }
  if (errors.length === 0) return;
  throw new ApiError(
    "VALIDATION_FAILED",
    `invalid body: pending counts are keyed by synced entity (${Object.keys(ENTITIES).join(", ")}) with whole numbers from 0 to ${MAX_PENDING_OPS}; ${count} keys sent`,
    { errors },
  );
}

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
  // Only synced entities are rows: a push's invented pending keys are left out, not recorded.
  const names = [...new Set([...u.entities, ...Object.keys(u.pending ?? {})])]
    .filter((e) => entityDef(e) !== undefined)
    .sort();
  if (names.length === 0) return;
  const rows = names.map((entityType) => ({
    userId: u.userId,
    deviceId: u.deviceId,
    entityType,
    lastSyncAt: u.pulledAt ?? null,
    lastPushAt: u.pushedAt ?? null,
    pendingOps: Math.min(MAX_PENDING_OPS, Math.max(0, Math.floor(u.pending?.[entityType] ?? 0))),
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

/** A device's pulls and pushes are each recorded at most this often while its pending counts stay the same. */
export const SYNC_STATE_EVERY_MS = 15_000;
type Kind = "pull" | "push";
const recent = new WeakMap<object, Map<string, { at: number; value: string }>>();

const keyOf = (u: SyncStateUpdate, kind: Kind) => `${kind} ${u.userId} ${u.deviceId}`;
/** What must match for a write to be skipped: the entities touched and the pending counts. */
const stateValue = (u: SyncStateUpdate) => JSON.stringify([u.entities, u.pending ?? null]);
const atOf = (ctx: VerbContext, u: SyncStateUpdate) => (u.pulledAt ?? u.pushedAt ?? ctx.now).getTime();

/**
 * Whether a pull or push should be recorded now. A device that syncs often (on every poke) would
 * otherwise rewrite its rows and commit on every request: it is skipped when this process
 * recorded the same device and kind less than SYNC_STATE_EVERY_MS ago with the same entities
 * and pending counts, so `last_sync_at` / `last_push_at` may trail by that much; changed counts go at once.
 */
export function syncStateDue(ctx: VerbContext, u: SyncStateUpdate, kind: Kind): boolean {
  const prev = recent.get(ctx.services.database)?.get(keyOf(u, kind));
  const at = atOf(ctx, u);
  return !(prev && prev.value === stateValue(u) && at >= prev.at && at - prev.at < SYNC_STATE_EVERY_MS);
}

/** Notes that `u` was written (after its transaction committed). */
export function syncStateRecorded(ctx: VerbContext, u: SyncStateUpdate, kind: Kind): void {
  let seen = recent.get(ctx.services.database);
  if (!seen) {
    seen = new Map();
    recent.set(ctx.services.database, seen);
  }
  if (seen.size >= 10_000) seen.clear();
  seen.set(keyOf(u, kind), { at: atOf(ctx, u), value: stateValue(u) });
}

/** Records a pull unless the same device's state was written moments ago (see syncStateDue). */
export async function recordPullState(ctx: VerbContext, u: SyncStateUpdate): Promise<void> {
  if (!syncStateDue(ctx, u, "pull")) return;
  await recordSyncState(ctx, u);
  syncStateRecorded(ctx, u, "pull");
}
