/** Redis over TCP (ioredis). Keys get an optional prefix so tenants of one Redis do not collide. */
import { Redis } from "ioredis";
import { measureKv } from "../../context";
import { INCR_WITH_TTL, type Kv, SADD_WITH_TTL } from "./index";

export function createRedisKv(options: { url: string; prefix?: string; commandTimeoutMs?: number }): Kv {
  const prefix = options.prefix ?? "";
  const redis = new Redis(options.url, {
    lazyConnect: false,
    maxRetriesPerRequest: 2,
    commandTimeout: options.commandTimeoutMs ?? 2000,
    enableOfflineQueue: true,
  });
  // Connection errors surface on the commands that need the connection; do not crash the process.
  redis.on("error", () => {});
  const k = (key: string) => prefix + key;

  return {
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
}
