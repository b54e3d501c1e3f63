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

/**
 * Lua shared by the Redis and Upstash adapters: SADD, then PEXPIRE. One script rather than
 * MULTI, because a MULTI keeps going after a failed SADD (WRONGTYPE) and would set a TTL on a key
 * of another type; in a script the error aborts before the PEXPIRE.
 */
export const SADD_WITH_TTL = `local n = redis.call('SADD', KEYS[1], unpack(ARGV, 2))
if tonumber(ARGV[1]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`;

/**
 * Converts a Redis glob to a RegExp for the memory adapter, following Redis' own matcher
 * (util.c stringmatchlen) so `keys()` answers the same on every adapter: `*`, `?`, `\x`,
 * classes `[abc]`, ranges `[a-c]` (reversed ranges swap), negation `[^e]`, escapes inside
 * classes, and an unclosed `[` whose class runs to the end of the pattern.
 */
export function globToRegExp(glob: string): RegExp {
  const esc = (c: string) => c.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === "*") out += ".*";
    else if (ch === "?") out += ".";
    else if (ch === "\\" && i + 1 < glob.length) out += esc(glob[++i]!);
    else if (ch === "[") {
      let j = i + 1;
      const negate = glob[j] === "^";
      if (negate) j++;
      let cls = "";
      while (j < glob.length && glob[j] !== "]") {
        if (glob[j] === "\\" && j + 1 < glob.length) {
          cls += esc(glob[j + 1]!);
          j += 2;
        } else if (j + 2 < glob.length && glob[j + 1] === "-") {
          const [lo, hi] = [glob[j]!, glob[j + 2]!].sort();
          cls += `${esc(lo!)}-${esc(hi!)}`;
          j += 3;
        } else cls += esc(glob[j++]!);
      }
      // `[]` matches nothing and `[^]` any one character, as in Redis.
      out += cls ? `[${negate ? "^" : ""}${cls}]` : negate ? "[\\s\\S]" : "(?!)";
      i = j;
    } else out += esc(ch);
  }
  return new RegExp(`^${out}$`, "s");
}
