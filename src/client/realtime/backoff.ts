/** Reconnect delays: exponential growth, capped, with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"). */
export interface BackoffOptions {
  /** Delay scale of the first retry, ms. */
  baseMs: number;
  /** No delay exceeds this, ms. */
  maxMs: number;
  factor: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 30_000, factor: 2 };

/**
 * Delay before retry number `attempt` (0 = first connect: no delay). Full jitter spreads a
 * building's clients over the whole window, so a server restart is not met by a thundering herd.
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = DEFAULT_BACKOFF,
  random = Math.random,
): number {
  if (attempt <= 0) return 0;
  const ceiling = Math.min(options.maxMs, options.baseMs * options.factor ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
