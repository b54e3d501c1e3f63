/**
 * The consumer side of the queue port over the outbox table: claims rows with a lease, runs the
 * topic's handler, and settles the row (dispatched, rescheduled per the topic's policy, or dead).
 * The in-process loop and the QStash consumer route call the same functions, so a handler behaves
 * the same on both hosts. Times come from `services.clock` (a test moves it to skip a backoff).
 */
import { and, asc, eq, inArray, isNull, lt, lte, or, sql } from "drizzle-orm";
import { ZodError } from "zod";
import { newMetrics, runWithContext } from "../../context";
import type { CommittedEvent, DeliveryOutcome, QueueConsumer, RetryPolicy } from "../../platform/queue";
import { retryDelayMs } from "../../platform/queue";
import type { Services } from "../../services";
import { policyFor } from "./policies";
import {
  type HandlerRegistry,
  type JobActor,
  type OutboxEventRow,
  type OutboxHandlerContext,
  outboxHandlers,
  PermanentDeliveryError,
} from "./registry";
import { outbox } from "./schema";

export interface OutboxConsumerOptions {
  registry?: HandlerRegistry;
  /** Policies by topic (default: ./policies.ts); tests pass short ones. */
  policies?: (topic: string) => RetryPolicy;
  /** Claim lease (default: OUTBOX_CLAIM_LEASE_MS). */
  leaseMs?: number;
  /** Told when a row becomes due again later (a retry, a handed-back row): the in-process timer. */
  onReschedule?: (at: Date) => void;
}

type Row = typeof outbox.$inferSelect;

const MAX_ERROR = 2000;
/** How early a delivery by id (a transport's callback) may come before the row's available_at. */
const DELIVER_EARLY_MS = 2000;

function describe(err: unknown): string {
  if (err instanceof ZodError)
    return `invalid payload: ${err.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`.slice(
      0,
      MAX_ERROR,
    );
  return (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).slice(0, MAX_ERROR);
}

/** A row that still waits: neither delivered nor dead. */
const open = () => and(isNull(outbox.dispatchedAt), isNull(outbox.deadAt));
const unclaimed = (now: Date) => or(isNull(outbox.claimedUntil), lt(outbox.claimedUntil, now));

export function createOutboxConsumer(
  services: Services,
  options: OutboxConsumerOptions = {},
): QueueConsumer & {
  /** Settles claimed rows by running their handlers (exposed for the bench and tests). */
  run(rows: Row[], via: JobActor): Promise<void>;
} {
  const registry = options.registry ?? outboxHandlers;
  const policies = options.policies ?? policyFor;
  const leaseMs = options.leaseMs ?? services.config.OUTBOX_CLAIM_LEASE_MS;
  const db = () => services.database.db;
  const now = () => services.clock.now();
  const actorOf = (via?: "in-process" | "qstash"): JobActor =>
    via === "qstash"
      ? { kind: "job", name: "qstash-consumer" }
      : { kind: "system", name: "outbox-dispatcher" };

  /** Runs one claimed row's handler; answers how it ended (the row is not written yet). */
  async function attempt(row: Row, job: JobActor): Promise<DeliveryOutcome> {
    const handler = registry.get(row.topic);
    if (!handler) return { status: "dead", error: `no handler registered for topic ${row.topic}` };
    const event: OutboxEventRow = {
      id: row.id,
      topic: row.topic,
      buildingId: row.buildingId,
      payload: row.payload,
      correlationId: row.correlationId,
      attempts: row.attempts,
      createdAt: row.createdAt,
    };
    const ctx: OutboxHandlerContext = {
      services,
      db: services.database.db,
      actor: job,
      membership: null,
      correlationId: row.correlationId,
      ip: "",
      userAgent: `horizon/${services.version} ${job.name}`,
      now: now(),
      job,
      event,
    };
    const started = performance.now();
    try {
      // The row's correlation id rides in the request context, so every log line and nested
      // write of the handler carries it, as in the request that recorded the event.
      await runWithContext({ correlationId: row.correlationId, metrics: newMetrics() }, async () => {
        const payload = handler.payload ? handler.payload.parse(row.payload) : row.payload;
        await handler.handle(payload, ctx);
      });
      services.logger.info(
        {
          event: "outbox_delivered",
          outboxId: row.id,
          topic: row.topic,
          attempt: row.attempts,
          via: job.name,
          correlationId: row.correlationId,
          ms: Math.round(performance.now() - started),
        },
        "outbox event delivered",
      );
      return { status: "ok" };
    } catch (err) {
      const error = describe(err);
      const policy = policies(row.topic);
      const permanent = err instanceof PermanentDeliveryError || err instanceof ZodError;
      const last = row.attempts >= 1 + policy.retries;
      services.logger.warn(
        {
          event: permanent || last ? "outbox_dead" : "outbox_retry",
          outboxId: row.id,
          topic: row.topic,
          attempt: row.attempts,
          via: job.name,
          correlationId: row.correlationId,
          err: error,
        },
        permanent || last ? "outbox event dead" : "outbox event failed; retrying",
      );
      if (permanent || last) return { status: "dead", error };
      return {
        status: "retry",
        error,
        retryAt: new Date(now().getTime() + retryDelayMs(policy, row.attempts)),
      };
    }
  }

  /** Writes what the attempts came to: successes in one statement, the rest one each. */
  async function settle(results: Array<{ row: Row; outcome: DeliveryOutcome }>): Promise<void> {
    const ok = results.filter((r) => r.outcome.status === "ok").map((r) => r.row.id);
    const at = now();
    if (ok.length) {
      await db()
        .update(outbox)
        .set({ dispatchedAt: at, claimedUntil: null })
        .where(and(inArray(outbox.id, ok), isNull(outbox.dispatchedAt)));
    }
    for (const { row, outcome } of results) {
      if (outcome.status === "dead") {
        await db()
          .update(outbox)
          .set({ deadAt: at, lastError: outcome.error, claimedUntil: null })
          .where(and(eq(outbox.id, row.id), open()));
      } else if (outcome.status === "retry") {
        await db()
          .update(outbox)
          .set({ availableAt: outcome.retryAt, lastError: outcome.error ?? null, claimedUntil: null })
          .where(and(eq(outbox.id, row.id), open()));
        options.onReschedule?.(outcome.retryAt);
      }
    }
  }

  async function run(rows: Row[], job: JobActor): Promise<void> {
    const results: Array<{ row: Row; outcome: DeliveryOutcome }> = [];
    const lapsed: string[] = [];
    // One at a time, in due order: a building's events reach their handlers in the order recorded.
    for (const row of rows) {
      // Slow handlers ahead of it outlasted this row's lease: another dispatcher may hold it now,
      // so it is handed back (its unstarted attempt uncounted) rather than run a second time.
      if (row.claimedUntil && now() >= row.claimedUntil) lapsed.push(row.id);
      else results.push({ row, outcome: await attempt(row, job) });
    }
    await settle(results);
    if (lapsed.length) {
      await db()
        .update(outbox)
        .set({ claimedUntil: null, attempts: sql`greatest(${outbox.attempts} - 1, 0)` })
        .where(and(inArray(outbox.id, lapsed), open(), lt(outbox.claimedUntil, now())));
      options.onReschedule?.(now());
    }
  }

  /** Claims due rows (one id, or the oldest `limit`), counting the attempt. */
  async function claim(filter: { id?: string; limit: number; earlyMs?: number }): Promise<Row[]> {
    const at = now();
    const dueBy = new Date(at.getTime() + (filter.earlyMs ?? 0));
    const due = db()
      .select({ id: outbox.id })
      .from(outbox)
      .where(
        and(
          filter.id ? eq(outbox.id, filter.id) : undefined,
          open(),
          lte(outbox.availableAt, dueBy),
          unclaimed(at),
        ),
      )
      .orderBy(asc(outbox.availableAt))
      .limit(filter.limit)
      // A batch skips rows another dispatcher is claiming. A delivery by id waits for the lock
      // instead: the holder is a single statement (a claim, or the publisher's markPublished,
      // which QStash's immediate callback races), and PostgreSQL re-checks the row after the
      // wait, so a row another consumer just claimed is still refused, while a row that was
      // only being marked published runs now rather than costing a transport retry.
      .for("update", filter.id ? {} : { skipLocked: true });
    const rows = await db()
      .update(outbox)
      .set({ claimedUntil: new Date(at.getTime() + leaseMs), attempts: sql`${outbox.attempts} + 1` })
      .where(inArray(outbox.id, due))
      .returning();
    return rows.sort((a, b) => a.availableAt.getTime() - b.availableAt.getTime());
  }

  return {
    run,

    async deliver(eventId, options = {}) {
      if (!/^[0-9a-f-]{36}$/i.test(eventId)) return { status: "missing" };
      // A remote transport's timer (QStash retry delay, Upstash-Delay) runs on another clock and
      // from another instant than the row's available_at: a callback a little early is on time,
      // rather than a refusal that burns one of the transport's retries.
      const [row] = await claim({ id: eventId, limit: 1, earlyMs: DELIVER_EARLY_MS });
      if (row) {
        const outcome = await attempt(row, actorOf(options.via));
        await settle([{ row, outcome }]);
        return outcome;
      }
      // Not claimable: say why, without running anything.
      const [state] = await db().select().from(outbox).where(eq(outbox.id, eventId)).limit(1);
      if (!state) return { status: "missing" };
      if (state.dispatchedAt) return { status: "ok" };
      if (state.deadAt) return { status: "dead", error: state.lastError ?? "dead" };
      const at = now();
      const retryAt =
        state.availableAt > at ? state.availableAt : (state.claimedUntil ?? new Date(at.getTime() + 1000));
      return { status: "retry", retryAt };
    },

    async drainDue(options = {}) {
      const rows = await claim({ limit: options.limit ?? 100 });
      if (rows.length) await run(rows, actorOf("in-process"));
      return rows.length;
    },

    async markDead(eventId, error) {
      await db()
        .update(outbox)
        .set({ deadAt: now(), lastError: error.slice(0, MAX_ERROR), claimedUntil: null })
        .where(and(eq(outbox.id, eventId), open()));
    },

    async markPublished(eventIds) {
      if (!eventIds.length) return;
      await db()
        .update(outbox)
        .set({ publishedAt: now() })
        .where(inArray(outbox.id, [...eventIds]));
    },

    async stalePending({ olderThanMs, limit = 100 }) {
      const at = now();
      const cutoff = new Date(at.getTime() - olderThanMs);
      const rows = await db()
        .select()
        .from(outbox)
        .where(and(open(), isNull(outbox.publishedAt), lte(outbox.availableAt, cutoff), unclaimed(at)))
        .orderBy(asc(outbox.availableAt))
        .limit(limit);
      return rows.map(
        (r): CommittedEvent => ({
          id: r.id,
          topic: r.topic,
          buildingId: r.buildingId,
          availableAt: r.availableAt,
          correlationId: r.correlationId,
          policy: policies(r.topic),
        }),
      );
    },

    async nextDueAt() {
      const [row] = await db()
        .select({
          at: sql<
            Date | string | null
          >`min(greatest(${outbox.availableAt}, coalesce(${outbox.claimedUntil}, ${outbox.availableAt})))`,
        })
        .from(outbox)
        .where(open());
      return row?.at ? new Date(row.at) : null;
    },
  };
}
