/**
 * Redis over TCP (ioredis). Keys get an optional prefix so tenants of one Redis do not collide.
 * Calls fail fast (guard.ts: deadline + circuit breaker). ioredis is told the same: commands time
 * out at the deadline, are never retried across reconnects (maxRetriesPerRequest 0), and wait in
 * the offline queue only until the first connection is up; after that a command sent while
 * disconnected fails at once, because a command that already timed out must not run later (a
 * late cache write could bring back a value an invalidation had just dropped).
 */
import { Redis } from "ioredis";
import { measureKv } from "../../context";
import { type GuardedKv, guardKv, KV_TIMEOUT_MS, type KvGuardOptions } from "./guard";
import { INCR_WITH_TTL, type Kv, SADD_WITH_TTL } from "./index";

export function createRedisKv(options: { url: string; prefix?: string } & KvGuardOptions): GuardedKv {
  const prefix = options.prefix ?? "";
  const timeoutMs = options.timeoutMs ?? KV_TIMEOUT_MS;
  const redis = new Redis(options.url, {
    lazyConnect: false,
    maxRetriesPerRequest: 0,
    commandTimeout: timeoutMs,
    connectTimeout: Math.max(1000, timeoutMs * 2),
    enableOfflineQueue: true,
  });
  redis.once("ready", () => {
    redis.options.enableOfflineQueue = false;
  });
  // Connection errors surface on the commands that need the connection; do not crash the process.
  redis.on("error", () => {});
  const k = (key: string) => prefix + key;

  const raw: Kv = {
    kind: "redis",
    get: (key) => measureKv(() => redis.get(k(key)), true),
    set: (key, value, opts = {}) =>
      measureKv(async () => {
        const args: Array<string | number> = [];
        if (opts.ttlMs) args.push("PX", opts.ttlMs);
        if (opts.onlyIfAbsent) args.push("NX");
        const res = await (redis.set as (...a: unknown[]) => Promise<string | null>)(k(key), value, ...args);
        return res === "OK";
      }),
    del: (keys) =>
      measureKv(async () => {
        const list = (Array.isArray(keys) ? keys : [keys]).map(k);
        return list.length ? redis.del(...list) : 0;
      }),
    incr: (key, by = 1, ttlMs = 0) =>
      measureKv(async () => Number(await redis.eval(INCR_WITH_TTL, 1, k(key), by, ttlMs))),
    expire: (key, ttlMs) => measureKv(async () => (await redis.pexpire(k(key), ttlMs)) === 1),
    ttl: (key) =>
      measureKv(async () => {
        const t = await redis.pttl(k(key));
        return t === -2 ? null : t;
      }),
    sadd: (key, members, ttlMs) =>
      measureKv(async () => {
        if (!members.length) return 0;
        if (!ttlMs) return redis.sadd(k(key), ...members);
        return Number(await redis.eval(SADD_WITH_TTL, 1, k(key), ttlMs, ...members));
      }),
    srem: (key, members) => measureKv(async () => (members.length ? redis.srem(k(key), ...members) : 0)),
    smembers: (key) => measureKv(() => redis.smembers(k(key))),
    keys: (pattern) =>
      measureKv(async () => {
        const out: string[] = [];
        let cursor = "0";
        do {
          const [next, batch] = await redis.scan(cursor, "MATCH", k(pattern), "COUNT", 1000);
          cursor = next;
          for (const key of batch) out.push(key.slice(prefix.length));
        } while (cursor !== "0");
        return [...new Set(out)];
      }),
    ping: async () => {
      await redis.ping();
    },
    close: async () => {
      redis.disconnect();
    },
  };
  return guardKv(raw, options);
}
