/**
 * Upstash Redis over REST (`@upstash/redis`), for Workers. Same semantics as the Redis adapter,
 * and the same fail-fast guard (guard.ts); each HTTP request is also aborted at the deadline so
 * a silent endpoint does not keep a fetch open behind a call that already gave up.
 */
import { Redis } from "@upstash/redis";
import { measureKv } from "../../context";
import { type GuardedKv, guardKv, KV_TIMEOUT_MS, type KvGuardOptions } from "./guard";
import { INCR_WITH_TTL, type Kv, SADD_WITH_TTL } from "./index";

export function createUpstashKv(
  options: { url: string; token: string; prefix?: string } & KvGuardOptions,
): GuardedKv {
  const prefix = options.prefix ?? "";
  const timeoutMs = options.timeoutMs ?? KV_TIMEOUT_MS;
  const redis = new Redis({
    url: options.url,
    token: options.token,
    automaticDeserialization: false,
    enableTelemetry: false,
    retry: { retries: 1, backoff: () => 50 },
    signal: () => AbortSignal.timeout(timeoutMs),
  });
  const k = (key: string) => prefix + key;

  const raw: Kv = {
    kind: "upstash",
    get: (key) => measureKv(() => redis.get<string>(k(key)), true),
    set: (key, value, opts = {}) =>
      measureKv(async () => {
        const res = opts.onlyIfAbsent
          ? opts.ttlMs
            ? await redis.set(k(key), value, { px: opts.ttlMs, nx: true })
            : await redis.set(k(key), value, { nx: true })
          : opts.ttlMs
            ? await redis.set(k(key), value, { px: opts.ttlMs })
            : await redis.set(k(key), value);
        return res === "OK";
      }),
    del: (keys) =>
      measureKv(async () => {
        const list = (Array.isArray(keys) ? keys : [keys]).map(k);
        return list.length ? redis.del(...list) : 0;
      }),
    incr: (key, by = 1, ttlMs = 0) =>
      measureKv(async () => Number(await redis.eval(INCR_WITH_TTL, [k(key)], [String(by), String(ttlMs)]))),
    expire: (key, ttlMs) => measureKv(async () => (await redis.pexpire(k(key), ttlMs)) === 1),
    ttl: (key) =>
      measureKv(async () => {
        const t = await redis.pttl(k(key));
        return t === -2 ? null : t;
      }),
    sadd: (key, members, ttlMs) =>
      measureKv(async () => {
        if (!members.length) return 0;
        const [first, ...rest] = members as [string, ...string[]];
        if (!ttlMs) return redis.sadd(k(key), first, ...rest);
        return Number(await redis.eval(SADD_WITH_TTL, [k(key)], [String(ttlMs), ...members]));
      }),
    srem: (key, members) => measureKv(async () => (members.length ? redis.srem(k(key), ...members) : 0)),
    smembers: (key) => measureKv(async () => (await redis.smembers(k(key))).map(String)),
    keys: (pattern) =>
      measureKv(async () => {
        const out = new Set<string>();
        let cursor: string | number = "0";
        do {
          const [next, batch]: [string | number, string[]] = await redis.scan(cursor, {
            match: k(pattern),
            count: 1000,
          });
          cursor = String(next);
          for (const key of batch) out.add(key.slice(prefix.length));
        } while (cursor !== "0");
        return [...out];
      }),
    ping: async () => {
      await redis.ping();
    },
    close: async () => {},
  };
  return guardKv(raw, options);
}
