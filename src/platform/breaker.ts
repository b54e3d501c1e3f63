/**
 * A circuit breaker around one dependency (design seed, "Circuit Breaker Pattern"): after
 * `failureThreshold` consecutive failures (5) the dependency is left alone for `openMs` (30 s), so
 * callers fail at once instead of each waiting out a timeout; then it is half-open: a few probe
 * calls go through, one failure opens it again, `successThreshold` consecutive successes (3) close
 * it. The kv adapters use it (platform/kv/guard.ts); webhook deliveries and push providers can
 * reuse it, which is why it knows nothing about what it guards.
 *
 * Results of calls admitted before the last state change are ignored: a slow call that started
 * while closed says nothing about the dependency after the breaker opened.
 */

export type BreakerState = "closed" | "open" | "half-open";

export interface BreakerOptions {
  /** Names the dependency in errors and state-change events (`kv`, `webhook:<id>`). */
  name: string;
  failureThreshold?: number;
  openMs?: number;
  successThreshold?: number;
  /** Probes allowed at once while half-open (default: successThreshold). */
  halfOpenProbes?: number;
  now?: () => number;
  onStateChange?: (change: { name: string; from: BreakerState; to: BreakerState }) => void;
}

/**
 * A dependency could not be used: the breaker is open, or the call failed or timed out. Routes let
 * it through to the error handler, which answers 503 DEPENDENCY_UNAVAILABLE with Retry-After.
 */
export class DependencyUnavailableError extends Error {
  constructor(
    readonly dependency: string,
    readonly reason: "open" | "timeout" | "error",
    /** When a retry has a chance: the rest of the open period, else a short pause. */
    readonly retryAfterMs: number,
    options?: { cause?: unknown },
  ) {
    super(
      reason === "open"
        ? `${dependency} unavailable (circuit open)`
        : reason === "timeout"
          ? `${dependency} call timed out`
          : `${dependency} call failed`,
      options,
    );
    this.name = "DependencyUnavailableError";
  }
}

/** Admission to one call: hand it back to `success` or `failure`. */
export interface BreakerTicket {
  readonly epoch: number;
  readonly probe: boolean;
}

export interface CircuitBreaker {
  readonly name: string;
  state(): BreakerState;
  /** A ticket when a call may start now, else null (open, or every probe slot taken). */
  admit(): BreakerTicket | null;
  success(ticket: BreakerTicket): void;
  failure(ticket: BreakerTicket): void;
  /** Milliseconds until the breaker lets calls through again (0 unless open). */
  retryAfterMs(): number;
  /** Runs `fn` under the breaker; rejects with DependencyUnavailableError ("open") without calling it. */
  run<T>(fn: () => Promise<T>, options?: { isFailure?: (err: unknown) => boolean }): Promise<T>;
}

/** Retry-After when a call failed while the breaker is still closed. */
const FAILED_CALL_RETRY_MS = 1000;

export function createBreaker(options: BreakerOptions): CircuitBreaker {
  const failureThreshold = options.failureThreshold ?? 5;
  const openMs = options.openMs ?? 30_000;
  const successThreshold = options.successThreshold ?? 3;
  const probeSlots = options.halfOpenProbes ?? successThreshold;
  const now = options.now ?? Date.now;

  let state: BreakerState = "closed";
  let epoch = 0;
  let failures = 0;
  let successes = 0;
  let probes = 0;
  let openUntil = 0;

  const moveTo = (to: BreakerState) => {
    const from = state;
    state = to;
    epoch++;
    failures = 0;
    successes = 0;
    probes = 0;
    if (to === "open") openUntil = now() + openMs;
    options.onStateChange?.({ name: options.name, from, to });
  };

  const current = (): BreakerState => {
    if (state === "open" && now() >= openUntil) moveTo("half-open");
    return state;
  };

  const breaker: CircuitBreaker = {
    name: options.name,
    state: current,
    admit() {
      const s = current();
      if (s === "closed") return { epoch, probe: false };
      if (s === "open" || probes >= probeSlots) return null;
      probes++;
      return { epoch, probe: true };
    },
    success(ticket) {
      if (ticket.epoch !== epoch) return;
      if (ticket.probe) probes--;
      if (state === "closed") failures = 0;
      else if (state === "half-open" && ++successes >= successThreshold) moveTo("closed");
    },
    failure(ticket) {
      if (ticket.epoch !== epoch) return;
      if (ticket.probe) probes--;
      if (state === "half-open" || (state === "closed" && ++failures >= failureThreshold)) moveTo("open");
    },
    retryAfterMs() {
      return current() === "open" ? Math.max(0, openUntil - now()) : 0;
    },
    async run(fn, runOptions) {
      const ticket = breaker.admit();
      if (!ticket) throw openError(breaker);
      try {
        const value = await fn();
        breaker.success(ticket);
        return value;
      } catch (err) {
        if (runOptions?.isFailure && !runOptions.isFailure(err)) breaker.success(ticket);
        else breaker.failure(ticket);
        throw err;
      }
    },
  };
  return breaker;
}

/** The error a refused call rejects with. */
export function openError(breaker: CircuitBreaker): DependencyUnavailableError {
  return new DependencyUnavailableError(breaker.name, "open", breaker.retryAfterMs() || FAILED_CALL_RETRY_MS);
}

/** Retry-After (whole seconds, at least 1) for an error that a dependency is unavailable. */
export function retryAfterSeconds(err: DependencyUnavailableError): number {
  return Math.max(1, Math.ceil((err.retryAfterMs || FAILED_CALL_RETRY_MS) / 1000));
}
