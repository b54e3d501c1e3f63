/**
 * Fail-fast kv: every call of a networked adapter (Redis, Upstash) runs under a deadline and the
 * shared circuit breaker (platform/breaker.ts), so a Redis that is down or silent costs a request
 * at most one short timeout, and nothing at all once the breaker is open. Infrastructure failures
 * (refused, timed out, open circuit) reject with DependencyUnavailableError: the cache degrades
 * to misses, counters drop their increment, and routes that need kv answer 503 with Retry-After
 * through the error handler. Redis reply errors (WRONGTYPE, ERR ...) are answers, not outages:
 * they pass through unchanged and count as successes.
 */
import {
  type BreakerOptions,
  type CircuitBreaker,
  createBreaker,
  DependencyUnavailableError,
  openError,
} from "../breaker";
import type { Logger } from "../log";
import type { Kv } from "./index";

/** Default deadline of one kv call; Redis answers in well under a millisecond on a healthy link. */
export const KV_TIMEOUT_MS = 500;

export interface KvGuardOptions {
  timeoutMs?: number;
  /** Breaker settings (name defaults to `kv`), or a breaker to share. */
  breaker?: Partial<BreakerOptions> | CircuitBreaker;
}

export type GuardedKv = Kv & { readonly breaker: CircuitBreaker };

/**
 * Redis' own error replies start with an upper-case code; ioredis names them ReplyError, and
 * @upstash/redis quotes them after "Command failed: ".
 */
const REPLY_ERROR = /^(?:Command failed: )?(ERR|WRONGTYPE|NOSCRIPT|EXECABORT|NOPERM|WRONGPASS|NOAUTH)\b/;
export function isReplyError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return err.name === "ReplyError" || REPLY_ERROR.test(err.message);
}

export function guardKv(kv: Kv, options: KvGuardOptions = {}): GuardedKv {
  const timeoutMs = options.timeoutMs ?? KV_TIMEOUT_MS;
  const breaker =
    options.breaker && "admit" in options.breaker
      ? options.breaker
      : createBreaker({ name: "kv", ...options.breaker });

  function call<T>(run: () => Promise<T>): Promise<T> {
    const ticket = breaker.admit();
    if (!ticket) return Promise.reject(openError(breaker));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DependencyUnavailableError(breaker.name, "timeout", 0)), timeoutMs);
    });
    let work: Promise<T>;
    try {
      work = run();
    } catch (err) {
      work = Promise.reject(err);
    }
    return Promise.race([work, deadline]).then(
      (value) => {
        clearTimeout(timer);
        breaker.success(ticket);
        return value;
      },
      (err: unknown) => {
        clearTimeout(timer);
        if (isReplyError(err)) {
          breaker.success(ticket);
          throw err;
        }
        breaker.failure(ticket);
        // Retry-After counts from now: this failure may just have opened the breaker.
        const reason = err instanceof DependencyUnavailableError ? err.reason : "error";
        throw new DependencyUnavailableError(breaker.name, reason, breaker.retryAfterMs(), { cause: err });
      },
    );
  }

  return {
    kind: kv.kind,
    breaker,
    get: (key) => call(() => kv.get(key)),
    set: (key, value, opts) => call(() => kv.set(key, value, opts)),
    del: (keys) => call(() => kv.del(keys)),
    incr: (key, by, ttlMs) => call(() => kv.incr(key, by, ttlMs)),
    expire: (key, ttlMs) => call(() => kv.expire(key, ttlMs)),
    ttl: (key) => call(() => kv.ttl(key)),
    sadd: (key, members, ttlMs) => call(() => kv.sadd(key, members, ttlMs)),
    srem: (key, members) => call(() => kv.srem(key, members)),
    smembers: (key) => call(() => kv.smembers(key)),
    keys: (pattern) => call(() => kv.keys(pattern)),
    ping: () => call(() => kv.ping()),
    close: () => kv.close(),
  };
}

/** The breaker's state changes as log lines: `kv_breaker` warn when it opens, info otherwise. */
export function kvBreakerLog(logger: Logger | undefined): BreakerOptions["onStateChange"] {
  if (!logger) return undefined;
  return ({ name, from, to }) => {
    const line = { event: "kv_breaker", dependency: name, from, to };
    if (to === "open") logger.warn(line, `${name} circuit open: calls fail fast`);
    else logger.info(line, `${name} circuit ${to}`);
  };
}
