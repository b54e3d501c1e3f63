/**
 * Background sync pokes: when a committed write moves a building's sync version (a sync push, or
 * any REST write: both change what a device's next pull returns), the members of that building
 * who have push devices and are not live in its room get a silent push (`notifications.sync-poke`),
 * so their apps sync in the background instead of waiting to be opened. Members live in the room
 * already get the room's own poke.
 *
 * Trailing debounce per building (services.push.syncPokes.debounceMs, default 10 s): a burst of
 * writes makes one round of pokes, planned after the last write of the window, and the providers
 * collapse pokes of one building on the device. Planning happens after commit, outside the
 * write's transaction, in the process that committed (Node hosts: where services.push is set), so
 * a process that dies inside the window loses that round: a poke is a hint, and the next write or
 * the app's own periodic sync catches up. No change to the sync module: the after-commit hook
 * (modules/outbox/after-commit.ts) says which buildings moved.
 */
import { and, eq, isNull } from "drizzle-orm";
import { memberships } from "../../db/schema";
import type { Services } from "../../services";
import { inTransaction } from "../../verbs";
import { systemContext } from "../identity/accounts";
import { SYNC_POKE_TOPIC, type SyncPokePayload } from "../notifications/push-contract";
import { recordEvents } from "../outbox";
import { registerAfterCommit } from "../outbox/after-commit";
import { presenceOf } from "../realtime/presence";
import { pushDevices } from "./schema";

export const DEFAULT_SYNC_POKE_DEBOUNCE_MS = 10_000;

/** Per services bundle: building → its pending timer (and the round that timer will run). */
const pending = new WeakMap<
  Services,
  Map<string, { timer: ReturnType<typeof setTimeout>; run?: Promise<void> }>
>();

/** Members of `buildingId` with at least one push device who are not live in its room. */
export async function offlineMembersWithDevices(services: Services, buildingId: string): Promise<string[]> {
  const db = services.database.db;
  const [rows, online] = await Promise.all([
    db
      .selectDistinct({ userId: memberships.userId })
      .from(memberships)
      .innerJoin(pushDevices, eq(pushDevices.userId, memberships.userId))
      .where(and(eq(memberships.buildingId, buildingId), isNull(memberships.deletedAt))),
    presenceOf(services).getOnlineUsers(buildingId),
  ]);
  const live = new Set(online.map((m) => m.userId));
  return rows.map((r) => r.userId).filter((u) => !live.has(u));
}

/** Records one sync poke per offline member with devices; answers the users poked. */
export async function planSyncPokes(services: Services, buildingId: string): Promise<string[]> {
  const users = await offlineMembersWithDevices(services, buildingId);
  if (!users.length) return [];
  const ctx = systemContext(services, "push-sync-pokes");
  await inTransaction(ctx, (tx) =>
    recordEvents(
      tx.db,
      users.map((userId) => ({
        topic: SYNC_POKE_TOPIC,
        buildingId,
        payload: { userId, buildingId } satisfies SyncPokePayload,
      })),
    ),
  );
  return users;
}

/** Plans the building's pokes once `debounceMs` pass without another write to it. */
export function scheduleSyncPokes(services: Services, buildingId: string, debounceMs: number): void {
  let byBuilding = pending.get(services);
  if (!byBuilding) {
    byBuilding = new Map();
    pending.set(services, byBuilding);
  }
  const previous = byBuilding.get(buildingId);
  if (previous) clearTimeout(previous.timer);
  const entry: { timer: ReturnType<typeof setTimeout>; run?: Promise<void> } = {
    timer: setTimeout(() => {
      if (byBuilding.get(buildingId) === entry) byBuilding.delete(buildingId);
      entry.run = planSyncPokes(services, buildingId).then(
        (users) => {
          if (users.length) {
            services.logger.debug(
              { event: "push_sync_pokes", buildingId, users: users.length },
              "sync pokes recorded",
            );
          }
        },
        (err) =>
          // After a host (or a test) closed its database a pending round has nowhere to go.
          services.logger.debug(
            { event: "push_sync_pokes_failed", buildingId, err: String(err) },
            "sync pokes not recorded",
          ),
      );
    }, debounceMs),
  };
  entry.timer.unref?.();
  byBuilding.set(buildingId, entry);
}

/** Pending rounds of `services` run now (tests, shutdown); resolves when they are recorded. */
export async function flushSyncPokes(services: Services): Promise<void> {
  const byBuilding = pending.get(services);
  if (!byBuilding) return;
  const entries = [...byBuilding.entries()];
  byBuilding.clear();
  await Promise.all(
    entries.map(async ([buildingId, entry]) => {
      clearTimeout(entry.timer);
      await planSyncPokes(services, buildingId);
    }),
  );
}

registerAfterCommit("push.sync-pokes", async (services, { bumpedBuildings }) => {
  const config = services.push?.syncPokes;
  if (!config || !bumpedBuildings.length) return;
  for (const buildingId of new Set(bumpedBuildings))
    scheduleSyncPokes(services, buildingId, config.debounceMs);
});
