/**
 * The queue port: how committed outbox events reach their handlers. The outbox row is the source
 * of truth (written in the change's transaction, see src/modules/outbox); a transport only
 * schedules delivery of rows that already committed, and a consumer runs the handler registered
 * for the row's topic, idempotently by outbox id. Delivery is at least once: a transport may hand
 * over an event twice, a consumer may be called twice, a process may die mid-handler; the row's
 * state (claimed_until, dispatched_at, dead_at) makes every repeat harmless.
 *
 * Adapters: in-process (standalone: the dispatcher loop in the same process, woken after commit,
 * a timer as safety net) and QStash (edge: publish after commit, QStash calls the consumer route,
 * a failure callback marks the row dead, a cron sweep republishes rows never published).
 */

/**
 * Retries after the first attempt and the delay before each. `delaysMs[i]` is the wait before
 * retry i + 1; when there are fewer delays than retries the last one repeats. An event is dead
 * after `1 + retries` failed attempts.
 */
export interface RetryPolicy {
  retries: number;
  delaysMs: readonly number[];
}

/** The wait before retry `retry` (1-based: the first retry is 1). */
export function retryDelayMs(policy: RetryPolicy, retry: number): number {
  if (!policy.delaysMs.length) return 0;
  return policy.delaysMs[Math.min(Math.max(retry, 1), policy.delaysMs.length) - 1]!;
}

/** A committed outbox row, handed to a transport after commit (producer side). */
export interface CommittedEvent {
  /** The outbox id: the dedup id of every hop (`Upstash-Deduplication-Id` on QStash). */
  id: string;
  topic: string;
  buildingId: string | null;
  /** Not before this instant (the row's available_at): a transport delays delivery to it. */
  availableAt: Date;
  correlationId: string;
  /** The topic's policy (src/modules/outbox/policies.ts): QStash maps it to Upstash-Retries/-Retry-Delay. */
  policy: RetryPolicy;
}

/**
 * Producer side. `enqueue` is called once the writing transaction has committed (after-commit
 * hook of the outbox module), with the events it recorded. It must not throw for a delivery
 * problem: the rows stay pending and the safety net (in-process timer, QStash cron sweep)
 * delivers them later. Idempotent per event id: enqueueing an event twice delivers it at least
 * once and runs its handler to success at most once (the consumer's claim decides).
 */
export interface QueueTransport {
  readonly kind: "in-process" | "qstash";
  enqueue(events: readonly CommittedEvent[]): Promise<void>;
  /** Starts background work (in-process loop, timers). Idempotent. */
  start?(): void;
  /** Stops background work and waits for handlers in flight. */
  close(): Promise<void>;
}

/** What one delivery attempt of one event came to. */
export type DeliveryOutcome =
  /** The handler succeeded now, or earlier (already dispatched: nothing ran). */
  | { status: "ok" }
  /**
   * Not done: the handler failed with retries left (the row is rescheduled to `retryAt` per the
   * topic's policy), the event is not due yet, or another consumer holds its claim until
   * `retryAt`. QStash consumers answer 5xx so QStash retries.
   */
  | { status: "retry"; retryAt: Date; error?: string }
  /** Dead: last attempt failed, unknown topic, poison payload. Nothing retries it until a replay. */
  | { status: "dead"; error: string }
  /** No such outbox row (pruned, or a forged id): nothing to do. */
  | { status: "missing" };

/**
 * Consumer side, implemented once by the outbox module over the outbox table and the topic
 * handler registry; the in-process loop and the QStash consumer route both call it.
 */
export interface QueueConsumer {
  /**
   * Delivers one event: claims the row (skipped if dispatched, dead or claimed by another
   * consumer whose claim has not expired; a claim expires so a killed consumer leaves nothing
   * claimed forever), counts the attempt, runs the topic's handler with a system/job actor and
   * the row's correlation id, then marks it dispatched; on failure reschedules per the policy or
   * marks it dead after the last attempt. `via` names the caller in logs and the actor.
   */
  deliver(eventId: string, options?: { via?: "in-process" | "qstash" }): Promise<DeliveryOutcome>;
  /**
   * Claims and delivers up to `limit` due rows (available_at <= now, unclaimed or claim expired,
   * FOR UPDATE SKIP LOCKED so concurrent dispatchers never share a row). Answers how many rows
   * it claimed (0: nothing due).
   */
  drainDue(options?: { limit?: number }): Promise<number>;
  /** QStash failure callback: the transport gave up; the row is dead with `error`. */
  markDead(eventId: string, error: string): Promise<void>;
  /** A remote transport accepted these events (sets published_at: the cron sweep skips them). */
  markPublished(eventIds: readonly string[]): Promise<void>;
  /**
   * Pending rows due for longer than `olderThanMs`, never marked published and not claimed
   * (publish failed, isolate died): the QStash cron sweep enqueues them again.
   */
  stalePending(options: { olderThanMs: number; limit?: number }): Promise<CommittedEvent[]>;
  /** The instant the next pending row becomes due (for the in-process timer), or null. */
  nextDueAt(): Promise<Date | null>;
}
