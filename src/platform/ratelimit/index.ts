/**
 * The rate-limiter port: fixed windows of `limit` requests per `windowSeconds` per key.
 * Adapters: rate-limiter-flexible over memory or Redis (standalone), @upstash/ratelimit (edge).
 * Every adapter passes test/contract/ratelimit.contract.test.ts. Adapters throw when their backend
 * fails; `limitWithin` turns slowness and failures into a result value so callers can choose to
 * fail open (reads) or closed (auth routes). A networked limiter also sits behind the shared
 * circuit breaker (platform/breaker.ts, one per limiter): once its backend has failed 5 times in a
 * row, requests stop waiting out RATE_LIMIT_TIMEOUT_MS each and get "unavailable" at once.
 */
import { type CircuitBreaker, createBreaker } from "../breaker";

export interface RateLimitRule {
  /** Names the key space (`auth`, `write`, `read`), so classes never share a counter. */
  name: string;
  limit: number;
  /** Whole seconds: rate-limiter-flexible's Redis store expires keys with `EX`. */
  windowSeconds: number;
}

export interface RateLimitDecision {
  success: boolean;
  limit: number;
  /** Requests left in the current window (0 once refused). */
  remaining: number;
  /** Milliseconds until the current window resets (≥ 0). */
  resetMs: number;
}

export interface RateLimiter {
  readonly kind: "memory" | "redis" | "upstash";
  /** Counts one request for `key` under `rule` and decides. Throws when the backend fails. */
  limit(key: string, rule: RateLimitRule): Promise<RateLimitDecision>;
  close(): Promise<void>;
}

export type GuardedDecision =
  | { kind: "decided"; decision: RateLimitDecision }
  | {
      kind: "unavailable";
      reason: "timeout" | "error" | "open";
      error?: unknown;
      /** When the backend is worth asking again (the rest of an open breaker's period). */
      retryAfterMs?: number;
    };

const breakers = new WeakMap<RateLimiter, CircuitBreaker>();
function breakerOf(limiter: RateLimiter): CircuitBreaker {
  let breaker = breakers.get(limiter);
  if (!breaker) {
    breaker = createBreaker({ name: "rate limiter" });
    breakers.set(limiter, breaker);
  }
  return breaker;
}

/** Runs `limiter.limit` with a deadline behind the limiter's breaker; never throws. */
export async function limitWithin(
  limiter: RateLimiter,
  key: string,
  rule: RateLimitRule,
  timeoutMs: number,
): Promise<GuardedDecision> {
  if (limiter.kind === "memory") {
    // In-process counters cannot stall: skip the timer (it costs more than the decision).
    try {
      return { kind: "decided", decision: await limiter.limit(key, rule) };
    } catch (error) {
      return { kind: "unavailable", reason: "error", error };
    }
  }
  const breaker = breakerOf(limiter);
  const ticket = breaker.admit();
  if (!ticket) return { kind: "unavailable", reason: "open", retryAfterMs: breaker.retryAfterMs() };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<GuardedDecision>((resolve) => {
    timer = setTimeout(() => resolve({ kind: "unavailable", reason: "timeout" }), timeoutMs);
  });
  try {
    const outcome = await Promise.race([
      limiter.limit(key, rule).then(
        (decision): GuardedDecision => ({ kind: "decided", decision }),
        (error): GuardedDecision => ({ kind: "unavailable", reason: "error", error }),
      ),
      timeout,
    ]);
    if (outcome.kind === "decided") breaker.success(ticket);
    else breaker.failure(ticket);
    return outcome;
  } finally {
    clearTimeout(timer);
  }
}

/** Stable identity of a rule, for adapters that build one limiter object per rule. */
export function ruleId(rule: RateLimitRule): string {
  return `${rule.name}:${rule.limit}:${rule.windowSeconds}`;
}
