/**
 * A circuit breaker whose state lives in the kv port, so every process that delivers to the same
 * dependency (several job-service instances, a standalone host plus a job service) opens, probes
 * and closes it together. Same rule as the in-memory breaker (./breaker.ts, the seed's "Circuit
 * Breaker Pattern"): `failureThreshold` consecutive failures (5) open it for `openMs` (30 s), then
 * half-open admits probes, one failure reopens it, `successThreshold` successes (3) close it.
 *
 * Keys (under `breaker:<name>:`): `open` = the instant (ms) the open period ends, kept while
 * half-open and deleted on close; `f` = consecutive failures while closed; `s` = probe successes
 * while half-open. Counters use atomic INCR; the state moves are single SET/DEL calls, so racing
 * processes can at worst both open it (harmless) — never lose a failure count.
 */
import type { BreakerState } from "./breaker";
import type { Kv } from "./kv";

export interface KvBreakerOptions {
  kv: Kv;
  name: string;
  failureThreshold?: number;
  openMs?: number;
  successThreshold?: number;
  now?: () => number;
  onStateChange?: (change: { name: string; from: BreakerState; to: BreakerState }) => void;
}

export interface KvBreakerStatus {
  state: BreakerState;
  /** Milliseconds until an open breaker admits probes (0 otherwise). */
  retryAfterMs: number;
}

export interface KvBreaker {
  readonly name: string;
  status(): Promise<KvBreakerStatus>;
  /** May a call start now? (closed or half-open: yes; open: no, with the wait). */
  admit(): Promise<KvBreakerStatus & { allowed: boolean }>;
  /**
   * A call succeeded. `known`: the state `admit()` answered for it, which spares reading it again
   * (one kv round trip per success; a move by another process in between is at worst a probe
   * success counted as a closed-state one, or a failure count cleared that `open` clears anyway).
   */
  success(known?: KvBreakerStatus): Promise<void>;
  failure(): Promise<void>;
  /** Forgets the state (an endpoint re-enabled by hand). */
  reset(): Promise<void>;
}

export function createKvBreaker(options: KvBreakerOptions): KvBreaker {
  const { kv, name } = options;
  const failureThreshold = options.failureThreshold ?? 5;
  const openMs = options.openMs ?? 30_000;
  const successThreshold = options.successThreshold ?? 3;
  const now = options.now ?? Date.now;
  const key = (k: string) => `breaker:${name}:${k}`;
  // Counters expire on their own: a breaker nobody uses leaves nothing behind for long.
  const counterTtl = Math.max(openMs * 10, 3_600_000);

  const status = async (): Promise<KvBreakerStatus> => {
    const openUntil = await kv.get(key("open"));
    if (openUntil === null) return { state: "closed", retryAfterMs: 0 };
    const wait = Number(openUntil) - now();
    return wait > 0 ? { state: "open", retryAfterMs: wait } : { state: "half-open", retryAfterMs: 0 };
  };

  const open = async (from: BreakerState) => {
    await kv.set(key("open"), String(now() + openMs), { ttlMs: counterTtl });
    await kv.del([key("f"), key("s")]);
    options.onStateChange?.({ name, from, to: "open" });
  };

  return {
    name,
    status,
    async admit() {
      const s = await status();
      return { ...s, allowed: s.state !== "open" };
    },
    async success(known) {
      const s = known ?? (await status());
      if (s.state === "closed") {
        await kv.del(key("f"));
        return;
      }
      if (s.state === "half-open" && (await kv.incr(key("s"), 1, counterTtl)) >= successThreshold) {
        await kv.del([key("open"), key("s"), key("f")]);
        options.onStateChange?.({ name, from: "half-open", to: "closed" });
      }
    },
    async failure() {
      const s = await status();
      if (s.state === "half-open") return open("half-open");
      if (s.state === "closed" && (await kv.incr(key("f"), 1, counterTtl)) >= failureThreshold) {
        return open("closed");
      }
    },
    async reset() {
      await kv.del([key("open"), key("s"), key("f")]);
    },
  };
}
