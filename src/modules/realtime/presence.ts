/**
 * Presence (design property 45) over the kv port, so every host and process sees the same
 * status. One key per connection carries its TTL, refreshed by that connection's heartbeats: a
 * connection that dies without closing simply expires. Index sets (building → users, user →
 * connections) are cleaned lazily when they point at expired connections.
 *
 *   presence:b:{buildingId}                 set of user ids
 *   presence:u:{buildingId}:{userId}        set of connection ids
 *   presence:c:{buildingId}:{connectionId}  JSON {userId, role, deviceId, since}, TTL = timeout
 */
import type { Kv } from "../../platform/kv";
import type { PresenceConnection, PresenceService } from "../../platform/realtime";
import type { PresenceMember } from "../../protocol/realtime";
import type { Services } from "../../services";

export type { PresenceConnection, PresenceService } from "../../platform/realtime";

type Stored = Omit<PresenceConnection, "buildingId" | "connectionId">;

const bKey = (b: string) => `presence:b:${b}`;
const uKey = (b: string, u: string) => `presence:u:${b}:${u}`;
const cKey = (b: string, c: string) => `presence:c:${b}:${c}`;

function parse(raw: string | null): Stored | null {
  if (raw === null) return null;
  try {
    return JSON.parse(raw) as Stored;
  } catch {
    return null;
  }
}

export function createPresenceService(kv: Kv, options: { ttlMs: number }): PresenceService {
  const { ttlMs } = options;
  // Index sets outlive their members a little so a refresh of any member keeps them.
  const indexTtl = ttlMs * 2;

  /** Live connections of a user, dropping expired ids from the index as a side effect. */
  async function liveConnections(buildingId: string, userId: string): Promise<Array<[string, Stored]>> {
    const ids = await kv.smembers(uKey(buildingId, userId));
    const rows = await Promise.all(
      ids.map(async (id) => [id, parse(await kv.get(cKey(buildingId, id)))] as const),
    );
    const dead = rows.filter(([, s]) => s === null).map(([id]) => id);
    if (dead.length) await kv.srem(uKey(buildingId, userId), dead);
    return rows.filter((r): r is [string, Stored] => r[1] !== null);
  }

  return {
    ttlMs,
    async setOnline(conn) {
      const live = await liveConnections(conn.buildingId, conn.userId);
      const firstForDevice = !live.some(
        ([id, s]) => id !== conn.connectionId && s.deviceId === conn.deviceId,
      );
      const stored: Stored = {
        userId: conn.userId,
        role: conn.role,
        deviceId: conn.deviceId,
        since: conn.since,
      };
      await kv.set(cKey(conn.buildingId, conn.connectionId), JSON.stringify(stored), { ttlMs });
      await kv.sadd(uKey(conn.buildingId, conn.userId), [conn.connectionId], indexTtl);
      await kv.sadd(bKey(conn.buildingId), [conn.userId], indexTtl);
      return { firstForDevice: firstForDevice && !live.some(([id]) => id === conn.connectionId) };
    },
    async setOffline(conn) {
      await kv.del(cKey(conn.buildingId, conn.connectionId));
      await kv.srem(uKey(conn.buildingId, conn.userId), [conn.connectionId]);
      const live = await liveConnections(conn.buildingId, conn.userId);
      if (live.length === 0) await kv.srem(bKey(conn.buildingId), [conn.userId]);
      return {
        lastForDevice: !live.some(([, s]) => s.deviceId === conn.deviceId),
        lastForUser: live.length === 0,
      };
    },
    async getOnlineUsers(buildingId) {
      const userIds = await kv.smembers(bKey(buildingId));
      const perUser = await Promise.all(
        userIds.map(async (userId) => {
          const live = await liveConnections(buildingId, userId);
          if (live.length === 0) await kv.srem(bKey(buildingId), [userId]);
          return live.map(([, s]) => s);
        }),
      );
      const byDevice = new Map<string, PresenceMember>();
      for (const s of perUser.flat()) {
        const key = `${s.userId}\u0000${s.deviceId}`;
        const seen = byDevice.get(key);
        if (!seen || s.since < seen.since) {
          byDevice.set(key, { userId: s.userId, role: s.role, deviceId: s.deviceId, since: s.since });
        }
      }
      return [...byDevice.values()].sort(
        (a, b) => a.since.localeCompare(b.since) || a.userId.localeCompare(b.userId),
      );
    },
  };
}

/**
 * The presence service of a services bundle: the host's, or one over its kv (memoized per kv, so
 * rooms, SSE streams and verbs of one process share the TTL settings). Built here rather than in
 * services.ts, which imports no feature module.
 */
const byKv = new WeakMap<Kv, PresenceService>();
export function presenceOf(services: Services): PresenceService {
  if (services.presence) return services.presence;
  let presence = byKv.get(services.kv);
  if (!presence) {
    presence = createPresenceService(services.kv, { ttlMs: services.config.REALTIME_HEARTBEAT_TIMEOUT_MS });
    byKv.set(services.kv, presence);
  }
  return presence;
}
