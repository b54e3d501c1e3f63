/**
 * The cache service over the kv port (design §14, property 35): JSON values with a fresh TTL and
 * a stale window, `remember` with stale-while-revalidate and single-flight, and tag invalidation
 * (`invalidateTag("building:7")` drops every entry written with that tag). Nothing is served
 * past TTL + stale window: entries carry their deadlines (checked against the service clock) and
 * the kv key expires at the same moment as a backstop. Kv failures degrade to misses.
 *
 * Lifetimes. A cache instance's single-flight map shares one computation between the callers of
 * that instance, so an instance must live no longer than the I/O its factories use: one per
 * process on Bun/Node, one per request on Workers (a promise tied to one request's Neon Pool
 * cannot be awaited by another, and that Pool is closed after its response). A background
 * refresh is handed to `defer` (Workers: `waitUntil`, and the host closes the request's Pool only
 * after it); a joiner whose shared computation fails computes for itself, so no caller inherits
 * another's failure or waits on it.
 *
 * Missed invalidations. A write whose tag could not be dropped (kv down) is remembered per kv
 * store and retried before the next read of any instance on that store; until it lands, reads
 * are misses, so a value older than the write is never served once kv is back.
 */
import { DependencyUnavailableError } from "../breaker";
import type { Kv } from "../kv";

export interface CacheWriteOptions {
  /** Extra time after the TTL during which `remember` serves the old value while refreshing. */
  staleMs?: number;
  /** Tags such as `building:7`; `invalidateTag` drops every entry carrying one. */
  tags?: string[];
}

export interface Cache {
  /** The value while fresh (within its TTL), else null. */
  get<T>(key: string): Promise<T | null>;
  set<T>(key: string, value: T, ttlMs: number, options?: CacheWriteOptions): Promise<void>;
  delete(key: string): Promise<void>;
  /**
   * The cached value, or the factory's. Fresh → cached; stale (past TTL, within the stale window)
   * → cached now and refreshed in the background; missing/expired → computed once per process
   * while concurrent callers await the same computation.
   */
  remember<T>(key: string, ttlMs: number, factory: () => Promise<T>, options?: CacheWriteOptions): Promise<T>;
  invalidateTag(tag: string): Promise<number>;
  /** Drops entries whose keys match a kv glob (`building:7:*`). */
  invalidatePattern(pattern: string): Promise<number>;
}

export interface CacheOptions {
  kv: Kv;
  now?: () => number;
  /** Stale window when a write does not give one. */
  defaultStaleMs?: number;
  /** Where background refresh failures go (a refresh failure keeps the stale value). */
  onError?: (err: unknown, key: string) => void;
  /** Hands background refreshes to the host (Workers: `ctx.waitUntil`). */
  defer?: (work: Promise<unknown>) => void;
}

interface Entry {
  v: unknown;
  /** Fresh until (epoch ms). */
  f: number;
  /** Servable (stale) until (epoch ms). */
  s: number;
}

const ENTRY = "cache:";
const TAG = "cachetag:";
const GEN = "cachegen:";
const LOCK = "cachelock:";
/** A refresh of a stale entry is claimed by one caller across processes for at most this long. */
const REFRESH_LOCK_MS = 10_000;
/** Past this many missed invalidations of one kv store, the next successful flush drops every entry. */
const MAX_PENDING = 1000;
const EVERYTHING = "pattern:*";

/** Invalidations that failed, per kv store (shared by per-request instances of a Worker isolate). */
const missed = new WeakMap<Kv, Set<string>>();

/** An open circuit is reported once by the breaker's state change, not on every call it refuses. */
const refusedByBreaker = (err: unknown) => err instanceof DependencyUnavailableError && err.reason === "open";

export function createCache(options: CacheOptions): Cache {
  const { kv } = options;
  const now = options.now ?? Date.now;
  const defaultStale = options.defaultStaleMs ?? 0;
  const report = options.onError ?? (() => {});
  const onError = (err: unknown, key: string) => {
    if (!refusedByBreaker(err)) report(err, key);
  };
  const defer = options.defer ?? ((work: Promise<unknown>) => void work.catch(() => {}));
  const inflight = new Map<string, Promise<unknown>>();
  let pending = missed.get(kv);
  if (!pending) {
    pending = new Set();
    missed.set(kv, pending);
  }
  const owed = pending;
  let flushing: Promise<boolean> | undefined;

  const dropTag = async (tag: string) => {
    await kv.incr(GEN + tag, 1, 24 * 3600_000);
    const keys = await kv.smembers(TAG + tag);
    const dropped = keys.length ? await kv.del(keys.map((k) => ENTRY + k)) : 0;
    await kv.del(TAG + tag);
    return dropped;
  };
  const dropPattern = async (pattern: string) => {
    const keys = await kv.keys(ENTRY + pattern);
    return keys.length ? await kv.del(keys) : 0;
  };
  const owe = (item: string) => {
    if (owed.size >= MAX_PENDING) {
      owed.clear();
      owed.add(EVERYTHING);
    } else if (!owed.has(EVERYTHING)) owed.add(item);
  };

  /** Retries missed invalidations; true when none is left. */
  const settleMissed = (): Promise<boolean> => {
    flushing ??= (async () => {
      try {
        for (const item of [...owed]) {
          const [kind, target] = [item.slice(0, item.indexOf(":")), item.slice(item.indexOf(":") + 1)];
          try {
            await (kind === "tag" ? dropTag(target) : dropPattern(target));
            owed.delete(item);
          } catch (err) {
            onError(err, item);
            return false;
          }
        }
        return owed.size === 0;
      } finally {
        flushing = undefined;
      }
    })();
    return flushing;
  };

  const read = async (key: string): Promise<Entry | null> => {
    if (owed.size && !(await settleMissed())) return null;
    try {
      const raw = await kv.get(ENTRY + key);
      if (!raw) return null;
      const entry = JSON.parse(raw) as Entry;
      return now() < entry.s ? entry : null;
    } catch (err) {
      onError(err, key);
      return null;
    }
  };

  const generations = (tags: string[]) =>
    Promise.all(tags.map((t) => kv.get(GEN + t).catch(() => "?"))).then((g) => g.join(","));

  const write = async (key: string, value: unknown, ttlMs: number, opts: CacheWriteOptions = {}) => {
    const staleMs = opts.staleMs ?? defaultStale;
    const t = now();
    const entry: Entry = { v: value, f: t + ttlMs, s: t + ttlMs + staleMs };
    const tags = opts.tags ?? [];
    await kv.set(ENTRY + key, JSON.stringify(entry), { ttlMs: ttlMs + staleMs });
    await Promise.all(tags.map((tag) => kv.sadd(TAG + tag, [key], ttlMs + staleMs + 60_000)));
  };

  /** Computes and stores; skips storing when a tag was invalidated during the computation. */
  const compute = async <T>(
    key: string,
    ttlMs: number,
    factory: () => Promise<T>,
    opts?: CacheWriteOptions,
  ) => {
    const tags = opts?.tags ?? [];
    const before = tags.length ? await generations(tags) : "";
    const value = await factory();
    try {
      if (!tags.length || (await generations(tags)) === before) await write(key, value, ttlMs, opts);
    } catch (err) {
      onError(err, key);
    }
    return value;
  };

  const singleFlight = <T>(key: string, run: () => Promise<T>): Promise<T> => {
    const running = inflight.get(key) as Promise<T> | undefined;
    // Another caller's failure (its transaction, its connection) is not ours: compute ourselves.
    if (running) return running.catch(() => run());
    const p = run().finally(() => inflight.delete(key));
    inflight.set(key, p);
    return p;
  };

  return {
    async get<T>(key: string) {
      const entry = await read(key);
      return entry && now() < entry.f ? (entry.v as T) : null;
    },
    async set(key, value, ttlMs, opts) {
      try {
        await write(key, value, ttlMs, opts);
      } catch (err) {
        onError(err, key);
      }
    },
    async delete(key) {
      try {
        await kv.del(ENTRY + key);
      } catch (err) {
        onError(err, key);
      }
    },
    async remember<T>(key: string, ttlMs: number, factory: () => Promise<T>, opts?: CacheWriteOptions) {
      const entry = await read(key);
      if (entry && now() < entry.f) return entry.v as T;
      if (entry) {
        // Stale: answer now; one caller (across processes, via a kv lock) refreshes.
        if (!inflight.has(key)) {
          const refresh = kv
            .set(LOCK + key, "1", { ttlMs: REFRESH_LOCK_MS, onlyIfAbsent: true })
            .then(async (claimed) => {
              if (!claimed) return;
              try {
                await singleFlight(key, () => compute(key, ttlMs, factory, opts));
              } finally {
                await kv.del(LOCK + key);
              }
            })
            .catch((err) => onError(err, key));
          defer(refresh);
        }
        return entry.v as T;
      }
      return singleFlight(key, () => compute(key, ttlMs, factory, opts));
    },
    async invalidateTag(tag) {
      try {
        return await dropTag(tag);
      } catch (err) {
        onError(err, `tag:${tag}`);
        owe(`tag:${tag}`);
        return 0;
      }
    },
    async invalidatePattern(pattern) {
      try {
        return await dropPattern(pattern);
      } catch (err) {
        onError(err, `pattern:${pattern}`);
        owe(`pattern:${pattern}`);
        return 0;
      }
    },
  };
}
