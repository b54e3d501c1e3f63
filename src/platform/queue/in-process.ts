/**
 * The in-process queue transport (standalone host, the embedded default): the dispatcher loop
 * runs in this process. A commit wakes it at once (no poll delay for fresh events); a timer set
 * to the next due row (a delay, a retry's backoff, a lapsed claim) or to the poll interval,
 * whichever is sooner, is the safety net for events recorded without the after-commit hook or
 * left by a process that died. One drain runs at a time; a wake during a drain runs another.
 */
import type { Logger } from "../log";
import type { CommittedEvent, QueueConsumer, QueueTransport } from ".";

export interface InProcessQueueOptions {
  consumer: QueueConsumer;
  logger: Logger;
  /** Safety-net poll when nothing is known to be due sooner. */
  pollMs: number;
  /** Rows claimed per round trip. */
  batch?: number;
  /** Periodic housekeeping (pruning delivered rows), run every `housekeepingMs`. */
  housekeeping?: () => Promise<unknown>;
  housekeepingMs?: number;
}

export interface InProcessQueue extends QueueTransport {
  readonly kind: "in-process";
  start(): void;
  /** Drains now (and resolves once nothing is due). */
  wake(): Promise<void>;
  /** Something becomes due at `at` (a retry the consumer rescheduled): wake then. */
  schedule(at: Date): void;
}

export function createInProcessQueue(options: InProcessQueueOptions): InProcessQueue {
  const { consumer, logger, pollMs } = options;
  // Rows per claim: round trips dominate a fast handler's cost (100 → 500 doubled no-op
  // dispatch in test/bench/outbox.bench.ts); slow handlers are covered by the consumer handing
  // back rows whose lease lapsed before their turn.
  const batch = options.batch ?? 500;
  let started = false;
  let closed = false;
  let running: Promise<void> | null = null;
  let again = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timerAt = Number.POSITIVE_INFINITY;
  // Whether the next drain asks the table when something is due next. Fresh events wake the loop
  // themselves and retries are scheduled by the consumer, so only a timer's wake-up (a delay, the
  // poll) needs the look-up: a commit's wake-up costs its claim and its settle, nothing more.
  let scan = true;
  let housekeeper: ReturnType<typeof setInterval> | undefined;

  function arm(at: number): void {
    if (closed || !started) return;
    const when = Math.min(at, Date.now() + pollMs);
    if (timer && timerAt <= when) return;
    clearTimeout(timer);
    timerAt = when;
    timer = setTimeout(
      () => {
        timer = undefined;
        timerAt = Number.POSITIVE_INFINITY;
        scan = true;
        void wake();
      },
      Math.max(0, when - Date.now()),
    );
    // The loop never keeps a process alive on its own: hosts close it on shutdown.
    (timer as { unref?: () => void }).unref?.();
  }

  async function drain(): Promise<void> {
    do {
      again = false;
      try {
        // A short batch means nothing else was due when it was claimed.
        while (!closed && (await consumer.drainDue({ limit: batch })) === batch) {}
        if (!closed && scan) {
          scan = false;
          const next = await consumer.nextDueAt();
          arm(next ? next.getTime() : Date.now() + pollMs);
        } else arm(Date.now() + pollMs);
      } catch (err) {
        logger.error({ event: "outbox_dispatch_failed", err: String(err) }, "outbox dispatcher round failed");
        scan = true;
        arm(Date.now() + Math.min(pollMs, 1000));
      }
    } while (again && !closed);
  }

  function wake(): Promise<void> {
    if (closed) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    running = drain().finally(() => {
      running = null;
    });
    return running;
  }

  return {
    kind: "in-process",
    wake,

    schedule(at: Date) {
      arm(at.getTime());
    },

    async enqueue(events: readonly CommittedEvent[]) {
      const now = Date.now();
      const later = events.filter((e) => e.availableAt.getTime() > now + 1);
      if (later.length < events.length) void wake();
      for (const e of later) arm(e.availableAt.getTime());
    },

    start() {
      if (started || closed) return;
      started = true;
      if (options.housekeeping) {
        housekeeper = setInterval(
          () => {
            options.housekeeping!().catch((err) =>
              logger.warn(
                { event: "outbox_housekeeping_failed", err: String(err) },
                "outbox housekeeping failed",
              ),
            );
          },
          options.housekeepingMs ?? 60 * 60 * 1000,
        );
        (housekeeper as { unref?: () => void }).unref?.();
      }
      void wake();
    },

    async close() {
      closed = true;
      clearTimeout(timer);
      clearInterval(housekeeper);
      await running;
    },
  };
}
