/**
 * The kv port: cache entries with TTL, atomic counters and sets (presence, cache tags).
 * Adapters: memory (standalone default, tests), Redis over TCP (ioredis) and Upstash REST
 * (Workers). Values are strings; callers serialize. Every adapter passes test/contract/kv.
 */
export interface SetOptions {
  /** Time to live in milliseconds; omitted = no expiry. */
  ttlMs?: number;
  /** Only set when the key does not exist (SET NX); the result says whether it was set. */
  onlyIfAbsent?: boolean;
}

export interface Kv {
  readonly kind: "memory" | "redis" | "upstash";
  get(key: string): Promise<string | null>;
  set(key: string, value: string, options?: SetOptions): Promise<boolean>;
  /** Deletes keys (strings or sets); answers how many existed. */
  del(keys: string | string[]): Promise<number>;
  /** Atomic increment; `ttlMs` is applied when the counter has no expiry yet (first increment). */
  incr(key: string, by?: number, ttlMs?: number): Promise<number>;
  expire(key: string, ttlMs: number): Promise<boolean>;
  /** Remaining TTL in ms; -1 when the key has no expiry; null when the key does not exist. */
  ttl(key: string): Promise<number | null>;
  sadd(key: string, members: string[], ttlMs?: number): Promise<number>;
  srem(key: string, members: string[]): Promise<number>;
  smembers(key: string): Promise<string[]>;
  /** Keys matching a glob pattern (`*`, `?`), without the adapter's prefix. */
  keys(pattern: string): Promise<string[]>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Lua shared by the Redis and Upstash adapters: INCRBY, then PEXPIRE only if no TTL is set. */
export const INCR_WITH_TTL = `local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if tonumber(ARGV[2]) > 0 and redis.call('PTTL', KEYS[1]) == -1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return v`;

/** Converts a Redis glob (`*`, `?`, `[...]`, `\x`) to a RegExp for the memory adapter. */
export function globToRegExp(glob: string): RegExp {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === "*") out += ".*";
    else if (ch === "?") out += ".";
    else if (ch === "\\" && i + 1 < glob.length) out += `\\${glob[++i]}`;
    else if (ch === "[") {
      const end = glob.indexOf("]", i + 1);
      if (end === -1) out += "\\[";
      else {
        const body = glob.slice(i + 1, end).replace(/\\/g, "\\\\");
        out += `[${body.startsWith("^") ? `\\${body}` : body}]`;
        i = end;
      }
    } else out += ch.replace(/[.+^${}()|\]\\/]/g, "\\$&");
  }
  return new RegExp(`^${out}$`, "s");
}
