/** In-process kv: one Map with lazy expiry. The standalone default and the fastest test adapter. */
import { measureKv } from "../../context";
import { globToRegExp, type Kv, type SetOptions } from "./index";

type Entry = { value: string | Set<string>; expiresAt: number | null };

export function createMemoryKv(options: { now?: () => number; sweepEveryMs?: number } = {}): Kv {
  const now = options.now ?? Date.now;
  const map = new Map<string, Entry>();

  const live = (key: string): Entry | undefined => {
    const e = map.get(key);
    if (!e) return undefined;
    if (e.expiresAt !== null && e.expiresAt <= now()) {
      map.delete(key);
      return undefined;
    }
    return e;
  };
  const wrongType = () => new Error("WRONGTYPE Operation against a key holding the wrong kind of value");

  // Lazy expiry alone would keep never-read keys forever; sweep now and then.
  const sweep = setInterval(() => {
    for (const key of map.keys()) live(key);
  }, options.sweepEveryMs ?? 30_000);
  (sweep as { unref?: () => void }).unref?.();

  return {
    kind: "memory",
    get: (key) =>
      measureKv(async () => {
        const e = live(key);
        if (e && typeof e.value !== "string") throw wrongType();
        return e ? (e.value as string) : null;
      }, true),
    set: (key, value, opts: SetOptions = {}) =>
      measureKv(async () => {
        if (opts.onlyIfAbsent && live(key)) return false;
        map.set(key, { value, expiresAt: opts.ttlMs ? now() + opts.ttlMs : null });
        return true;
      }),
    del: (keys) =>
      measureKv(async () => {
        let n = 0;
        for (const k of Array.isArray(keys) ? keys : [keys]) if (live(k) && map.delete(k)) n++;
        return n;
      }),
    incr: (key, by = 1, ttlMs) =>
      measureKv(async () => {
        const e = live(key);
        if (e && typeof e.value !== "string") throw wrongType();
        if (e && !/^-?\d+$/.test(e.value as string)) {
          throw new Error("ERR value is not an integer or out of range");
        }
        const next = (e ? Number(e.value) : 0) + by;
        const expiresAt = e?.expiresAt ?? (ttlMs && ttlMs > 0 ? now() + ttlMs : null);
        map.set(key, { value: String(next), expiresAt });
        return next;
      }),
    expire: (key, ttlMs) =>
      measureKv(async () => {
        const e = live(key);
        if (!e) return false;
        e.expiresAt = now() + ttlMs;
        return true;
      }),
    ttl: (key) =>
      measureKv(async () => {
        const e = live(key);
        if (!e) return null;
        return e.expiresAt === null ? -1 : e.expiresAt - now();
      }),
    sadd: (key, members, ttlMs) =>
      measureKv(async () => {
        let e = live(key);
        if (e && typeof e.value === "string") throw wrongType();
        if (!e) {
          e = { value: new Set<string>(), expiresAt: null };
          map.set(key, e);
        }
        const set = e.value as Set<string>;
        let added = 0;
        for (const m of members)
          if (!set.has(m)) {
            set.add(m);
            added++;
          }
        if (ttlMs) e.expiresAt = now() + ttlMs;
        return added;
      }),
    srem: (key, members) =>
      measureKv(async () => {
        const e = live(key);
        if (!e) return 0;
        if (typeof e.value === "string") throw wrongType();
        let removed = 0;
        for (const m of members) if (e.value.delete(m)) removed++;
        if (e.value.size === 0) map.delete(key);
        return removed;
      }),
    smembers: (key) =>
      measureKv(async () => {
        const e = live(key);
        if (!e) return [];
        if (typeof e.value === "string") throw wrongType();
        return [...e.value];
      }),
    keys: (pattern) =>
      measureKv(async () => {
        const re = globToRegExp(pattern);
        return [...map.keys()].filter((k) => live(k) && re.test(k));
      }),
    ping: async () => {},
    close: async () => {
      clearInterval(sweep);
      map.clear();
    },
  };
}
