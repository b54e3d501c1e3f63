/**
 * An in-process cache in front of a networked limiter (R1, issue 19): the Redis round trip per
 * request is what made a rate-limited route 0.66 of an unlimited one. Two parts, as
 * @upstash/ratelimit's ephemeral cache and rate-limiter-flexible's in-memory block do:
 *
 * - Blocked keys: a refused key is refused here, without a round trip, until its window resets.
 * - The current window: once the backend has told us a key's count and window end, requests
 *   far from the limit are admitted here and their count is sent to the backend in one INCRBY
 *   per key after `flushMs` (write-behind). Within `reserve` of the limit (10% of it, at least
 *   10) every request asks the backend again, so the last requests of a window are decided on
 *   the shared count; a limit of 10 or less is never admitted locally.
 *
 * What it costs: several processes sharing one Redis can together admit more than the limit by
 * the requests another process admitted locally and had not yet counted: at most `localCapOf`
 * (half the reserve) per process and key, since a request that finds that many waiting goes to
 * the backend and carries them along; a process that dies loses its uncounted ones. For the classes
 * that matter most (auth: 5–10 a minute) nothing is cached but the refusals.
 */
import type { RateLimitDecision, RateLimiter, RateLimitRule } from "./index";
import { ruleId } from "./index";

/** A limiter that can count several requests at once (the write-behind flush). */
export interface CountingRateLimiter extends RateLimiter {
  limit(key: string, rule: RateLimitRule, cost?: number): Promise<RateLimitDecision>;
}

export interface LocalWindowOptions {
  /** How long local admissions wait before they are counted in the backend (default 10 ms). */
  flushMs?: number;
  now?: () => number;
}

interface WindowState {
  /** Epoch ms when the backend's window for this key ends. */
  endsAt: number;
  /** The backend's count as of its last answer. */
  counted: number;
  /** Admitted here and not yet sent. */
  pending: number;
  /** Sent in a flush that has not answered yet. */
  inFlight: number;
  /** Refused by the backend: refuse locally until endsAt. */
  blocked: boolean;
  rule: RateLimitRule;
  key: string;
}

export const reserveOf = (limit: number) => Math.max(10, Math.ceil(limit * 0.1));
/** At most this many local admissions of a key wait to be counted (bounds what another process misses). */
export const localCapOf = (limit: number) => Math.max(1, Math.floor(reserveOf(limit) / 2));

export function withLocalWindow(inner: CountingRateLimiter, options: LocalWindowOptions = {}): RateLimiter {
  const flushMs = options.flushMs ?? 10;
  const now = options.now ?? Date.now;
  const windows = new Map<string, WindowState>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flushes = new Set<Promise<void>>();

  const learn = (state: WindowState, d: RateLimitDecision) => {
    const endsAt = now() + d.resetMs;
    // A new window began at the backend: what it counted is all there is.
    state.endsAt = endsAt;
    state.counted = d.limit - d.remaining;
    if (!d.success) {
      state.blocked = true;
      state.counted = d.limit;
    } else state.blocked = false;
  };

  const flush = () => {
    timer = undefined;
    for (const state of windows.values()) {
      if (state.pending === 0) continue;
      const cost = state.pending;
      state.pending = 0;
      state.inFlight += cost;
      const sent = inner
        .limit(state.key, state.rule, cost)
        .then(
          (d) => {
            if (windows.get(`${ruleId(state.rule)}|${state.key}`) === state) learn(state, d);
          },
          // The backend failed: these requests were served and stay uncounted; the next
          // synchronous request meets the failure itself (limitWithin decides what it means).
          () => {},
        )
        .finally(() => {
          state.inFlight -= cost;
          flushes.delete(sent);
        });
      flushes.add(sent);
    }
  };

  const schedule = () => {
    if (timer) return;
    timer = setTimeout(flush, flushMs);
    (timer as { unref?: () => void }).unref?.();
  };

  return {
    kind: inner.kind,
    async limit(key, rule) {
      const id = `${ruleId(rule)}|${key}`;
      const t = now();
      let state = windows.get(id);
      if (state && t >= state.endsAt) {
        // The window is over: forget it (unflushed counts belong to the old window).
        windows.delete(id);
        state = undefined;
      }
      if (state?.blocked) {
        return { success: false, limit: rule.limit, remaining: 0, resetMs: Math.max(0, state.endsAt - t) };
      }
      const reserve = reserveOf(rule.limit);
      if (state) {
        const used = state.counted + state.pending + state.inFlight;
        if (used + 1 <= rule.limit - reserve && state.pending + state.inFlight < localCapOf(rule.limit)) {
          state.pending += 1;
          schedule();
          return {
            success: true,
            limit: rule.limit,
            remaining: rule.limit - used - 1,
            resetMs: state.endsAt - t,
          };
        }
      }
      // First request of the window, near the limit, or the local share used up: the backend
      // decides on the shared count, and this request carries the unsent local admissions along.
      const carried = state ? state.pending : 0;
      if (state) state.pending = 0;
      if (state) state.inFlight += carried;
      let d: RateLimitDecision;
      try {
        d = await inner.limit(key, rule, 1 + carried);
      } finally {
        if (state) state.inFlight -= carried;
      }
      const current = windows.get(id);
      if (current) learn(current, d);
      else {
        const fresh: WindowState = {
          endsAt: 0,
          counted: 0,
          pending: 0,
          inFlight: 0,
          blocked: false,
          rule,
          key,
        };
        learn(fresh, d);
        windows.set(id, fresh);
      }
      if (windows.size > 10_000) for (const [k, s] of windows) if (now() >= s.endsAt) windows.delete(k);
      // Local admissions still in flight are in no answer yet: they are used all the same.
      const inFlight = current?.inFlight ?? 0;
      return inFlight && d.success ? { ...d, remaining: Math.max(0, d.remaining - inFlight) } : d;
    },
    async close() {
      if (timer) clearTimeout(timer);
      flush();
      await Promise.allSettled([...flushes]);
      windows.clear();
      await inner.close();
    },
  };
}
