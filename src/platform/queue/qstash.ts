/**
 * QStash transport (edge): after commit each event is published to QStash, which calls the
 * consumer route (src/modules/outbox/routes/qstash-consume.ts) until it answers 2xx, on the
 * topic's own schedule, then calls the failure callback. The outbox row stays the source of
 * truth: the message carries only the event id, the consumer reads the row.
 *
 *   Upstash-Deduplication-Id  = outbox id + available_at: a republish of the same row (cron sweep,
 *                               a retried waitUntil) is one message, while a replay (which makes the
 *                               row due again, a new available_at) is a new one rather than a
 *                               duplicate QStash would swallow
 *   Upstash-Retries / -Retry-Delay = the topic's RetryPolicy (an expression QStash evaluates)
 *   Upstash-Delay             = until the row's available_at
 *   Upstash-Forward-X-Correlation-Id = the row's correlation id, so the consumer's log lines carry it
 *   Upstash-Failure-Callback  = the consumer's failure route, which marks the row dead
 *
 * A publish that fails is logged and left: the row keeps published_at null and the Cron sweep
 * (`stalePending`) publishes it again. `enqueue` never throws for a delivery problem.
 */
import { Client } from "@upstash/qstash";
import type { Logger } from "../log";
import type { CommittedEvent, QueueConsumer, QueueTransport, RetryPolicy } from "./index";

export interface QStashQueueOptions {
  token: string;
  /** QStash's API (QSTASH_URL); tests point it at the stand-in. */
  baseUrl?: string;
  /** The consumer route QStash calls for an event (may depend on the topic: jobs vs edge host). */
  deliverUrl: (event: CommittedEvent) => string;
  /** The consumer's failure-callback route. */
  failureUrl: (event: CommittedEvent) => string;
  /** Records which events QStash accepted (the outbox consumer's markPublished). */
  markPublished: (eventIds: readonly string[]) => Promise<void>;
  logger: Logger;
  now?: () => Date;
}

/** What the consumer receives as the message body: the row is read from the database. */
export interface QStashEventBody {
  id: string;
  topic: string;
}

export const CORRELATION_FORWARD = "X-Correlation-Id";

/**
 * The policy's delays as an Upstash-Retry-Delay expression in `retried` (0 before the first
 * retry), which QStash evaluates with + - * / and pow/abs/min/max: equal delays are a constant,
 * doubling ones a capped power, anything else a sum of one-hot terms (`max(0, 1 - abs(retried
 * - i))` is 1 only at i) whose last delay repeats, as `retryDelayMs` does.
 */
export function retryDelayExpression(policy: RetryPolicy): string {
  const d = policy.delaysMs;
  if (!d.length) return "0";
  if (d.every((x) => x === d[0])) return String(d[0]);
  const ratio = d[1]! / d[0]!;
  if (Number.isInteger(ratio) && ratio > 1 && d.every((x, i) => x === d[0]! * ratio ** i))
    return `${d[0]} * pow(${ratio}, min(retried, ${d.length - 1}))`;
  const last = d.length - 1;
  const terms = d.slice(0, last).map((x, i) => `${x} * max(0, 1 - abs(retried - ${i}))`);
  terms.push(`${d[last]} * min(1, max(0, retried - ${last - 1}))`);
  return terms.join(" + ");
}

/** See the header: the row's id, then the generation it is in (its available_at). */
export function deduplicationId(event: Pick<CommittedEvent, "id" | "availableAt">): string {
  return `${event.id}-${event.availableAt.getTime()}`;
}

export function createQStashQueue(options: QStashQueueOptions): QueueTransport {
  const client = new Client({
    token: options.token,
    ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}),
    // Network errors only (QStash answers are not retried by the client); the cron sweep covers the rest.
    retry: { retries: 2, backoff: (n) => 50 * 2 ** n },
    enableTelemetry: false,
    // Never the local dev server or QSTASH_DEV from the environment: the config decides.
    devMode: false,
  });
  const now = options.now ?? (() => new Date());
  const inFlight = new Set<Promise<unknown>>();

  async function publish(event: CommittedEvent): Promise<boolean> {
    const waitMs = event.availableAt.getTime() - now().getTime();
    const body: QStashEventBody = { id: event.id, topic: event.topic };
    try {
      const res = await client.publishJSON({
        url: options.deliverUrl(event),
        body,
        deduplicationId: deduplicationId(event),
        retries: event.policy.retries,
        retryDelay: retryDelayExpression(event.policy),
        ...(waitMs > 0 ? { delay: Math.ceil(waitMs / 1000) } : {}),
        failureCallback: options.failureUrl(event),
        headers: {
          [CORRELATION_FORWARD]: event.correlationId,
          // The failure callback is a request of its own: give it the id too.
          [`Upstash-Failure-Callback-Forward-${CORRELATION_FORWARD}`]: event.correlationId,
        },
      });
      options.logger.debug(
        {
          event: "qstash_published",
          outboxId: event.id,
          topic: event.topic,
          messageId: res.messageId,
          deduplicated: res.deduplicated ?? false,
          correlationId: event.correlationId,
        },
        "outbox event published to QStash",
      );
      return true;
    } catch (err) {
      options.logger.warn(
        {
          event: "qstash_publish_failed",
          outboxId: event.id,
          topic: event.topic,
          correlationId: event.correlationId,
          err: String(err),
        },
        "QStash publish failed; the cron sweep publishes the event again",
      );
      return false;
    }
  }

  async function enqueue(events: readonly CommittedEvent[]): Promise<void> {
    if (!events.length) return;
    const results = await Promise.all(events.map(publish));
    const accepted = events.filter((_, i) => results[i]).map((e) => e.id);
    if (!accepted.length) return;
    try {
      await options.markPublished(accepted);
    } catch (err) {
      // Unmarked rows are published again by the sweep; the dedup id makes that one message.
      options.logger.warn(
        { event: "qstash_mark_published_failed", err: String(err) },
        "could not mark events published",
      );
    }
  }

  return {
    kind: "qstash",
    enqueue(events) {
      const p = enqueue(events);
      inFlight.add(p);
      return p.finally(() => inFlight.delete(p));
    },
    async close() {
      await Promise.allSettled([...inFlight]);
    },
  };
}

/**
 * The edge Cron Trigger's sweep: events committed but never accepted by QStash (the publish after
 * commit failed, or the isolate ended before its waitUntil ran) are published again once they
 * have waited `olderThanMs`. A row whose publish did reach QStash but was not marked yet is the
 * same dedup id, so QStash keeps one message. Answers how many it handed over.
 */
export async function sweepUnpublished(
  consumer: Pick<QueueConsumer, "stalePending">,
  transport: QueueTransport,
  options: { olderThanMs?: number; limit?: number } = {},
): Promise<number> {
  const events = await consumer.stalePending({
    olderThanMs: options.olderThanMs ?? 30_000,
    limit: options.limit ?? 500,
  });
  if (events.length) await transport.enqueue(events);
  return events.length;
}
