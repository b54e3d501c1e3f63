/** Options, events, errors and the backoff schedule of the sync client. */
import type { OpResult } from "../../protocol/sync";
import type { LocalStore, QueuedOp } from "./store";

export interface SyncClientOptions {
  /** The server origin (`https://api.example.com`), as everywhere in the SDK; `…/api/v1` is accepted too. */
  baseUrl: string;
  /** Transport; defaults to the global fetch. Tests inject faults here. */
  fetch?: typeof fetch;
  /** Current access token (refresh it here). */
  token: () => string | Promise<string>;
  store: LocalStore;
  /** Buildings to sync. */
  buildings: string[];
  /**
   * Sent with pushes and pulls, and the node of the edit clocks. Used on first open only; later
   * opens restore the stored id. Reusing it after a reinstall is fine: op ids come from a random
   * stream of the store itself.
   */
  deviceId?: string;
  /** Background sync period; 0 turns it off. Default 30 s. */
  intervalMs?: number;
  backoff?: BackoffOptions;
  /** Jitter source (0 ≤ x < 1); defaults to Math.random. */
  random?: () => number;
  /** Wall clock for the HLC; defaults to Date.now. */
  now?: () => number;
  timers?: {
    setTimeout: (fn: () => void, ms: number) => any;
    clearTimeout: (t: any) => void;
    setInterval: (fn: () => void, ms: number) => any;
    clearInterval: (t: any) => void;
  };
  pullLimit?: number;
  maxOpsPerPush?: number;
  /** Schedule retries even before start() (tests and one-shot scripts). Default false. */
  retryWhenStopped?: boolean;
}

export interface BackoffOptions {
  /** First retry delay (ms). Default 1000. */
  baseMs?: number;
  /** Ceiling (ms). Default 5 minutes. */
  maxMs?: number;
}

/**
 * Exponential backoff with "equal jitter": the n-th consecutive failure waits between half and
 * all of min(max, base·2^(n-1)), so retries spread out without ever retrying at once.
 */
export function backoffDelay(
  attempt: number,
  opts: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const base = opts.baseMs ?? 1000;
  const max = opts.maxMs ?? 5 * 60_000;
  const ceiling = Math.min(max, base * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export class SyncHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly body: unknown,
    /** The server's Retry-After (429, 503), in ms: the next attempt waits at least this long. */
    readonly retryAfterMs?: number,
  ) {
    super(`sync request failed: ${status} ${code}`);
    this.name = "SyncHttpError";
  }
}

/** Retry-After as delay-seconds or an HTTP-date (RFC 9110 §10.2.3), in ms; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export interface SyncEvents {
  syncing: { pending: number };
  synced: {
    pushed: number;
    applied: number;
    superseded: number;
    rejected: number;
    pulled: number;
    pending: number;
  };
  conflict: { count: number; superseded: OpResult[]; rejected: OpResult[] };
  /**
   * Ops the server refused, with the edit itself: they leave the queue (so the view drops them)
   * unless `reissuedAs` says the SDK sends the op again under a fresh id (OP_ID_REUSED).
   */
  rejected: { ops: RejectedOp[] };
  error: { error: unknown; attempt: number; retryInMs: number; pending: number };
}

export interface RejectedOp {
  op: QueuedOp;
  /** The server's reason: OP_ID_REUSED, INVALID_TEXT, FORBIDDEN_FIELD, NOT_FOUND, ... */
  reason: string;
  detail?: string;
  reissuedAs?: string;
}

type Listener<K extends keyof SyncEvents> = (event: SyncEvents[K]) => void;

export class SyncEmitter {
  private listeners = new Map<keyof SyncEvents, Set<(event: any) => void>>();

  on<K extends keyof SyncEvents>(type: K, fn: Listener<K>): () => void {
    const set = this.listeners.get(type) ?? new Set();
    this.listeners.set(type, set);
    set.add(fn);
    return () => set.delete(fn);
  }

  protected emit<K extends keyof SyncEvents>(type: K, event: SyncEvents[K]): void {
    for (const fn of this.listeners.get(type) ?? []) {
      try {
        fn(event);
      } catch {
        // A faulty UI listener must not break the sync loop.
      }
    }
  }
}
