/**
 * The one writer of the outbox. `recordEvent` runs inside the change's transaction, so the event
 * commits with the change or not at all; the events a transaction recorded are handed to the
 * queue transport once the outermost transaction has committed (`enqueueAfterCommit`). An event
 * recorded outside that scope (a script, a raw transaction) is still delivered, by the
 * transport's safety net (in-process timer, QStash cron sweep), just not at once.
 */
import { and, eq, sql } from "drizzle-orm";
import { currentContext, scopedValue } from "../../context";
import type { DbOrTx } from "../../platform/db";
import { preparedSql } from "../../platform/db/prepared";
import type { CommittedEvent } from "../../platform/queue";
import type { Services } from "../../services";
import { policyFor } from "./policies";
import { outbox } from "./schema";

export interface NewEvent {
  topic: string;
  buildingId?: string | null;
  payload: unknown;
  /** Defaults to the request's correlation id (or "" outside a request). */
  correlationId?: string;
  /** A second event with the same topic and key is the first one (nothing new is written). */
  idempotencyKey?: string;
  /** Not delivered before this instant (default: now). */
  availableAt?: Date;
}

export interface RecordedEvent {
  id: string;
  /** false when the idempotency key matched an event recorded earlier. */
  created: boolean;
}

interface Pending {
  events: CommittedEvent[];
}

/** Events recorded by the transaction running now, to enqueue after its commit. */
const pendingStore = scopedValue<Pending>("horizon.outbox.pending");

/** The correlation id an event recorded now carries by default. */
export const currentCorrelationId = (): string => currentContext()?.correlationId ?? "";

/**
 * Notes an event the caller inserted into the outbox itself (a writer that folds the insert into
 * a bigger statement, like the sync version bump), so it is enqueued after commit like the
 * events of `recordEvent`.
 */
export function noteRecorded(
  event: Omit<CommittedEvent, "policy" | "availableAt"> & { availableAt?: Date },
): void {
  pendingStore.get()?.events.push({
    ...event,
    availableAt: event.availableAt ?? new Date(),
    policy: policyFor(event.topic),
  });
}

/** Records one event in `tx` (the writing transaction). */
export async function recordEvent(tx: DbOrTx, event: NewEvent): Promise<RecordedEvent> {
  const [recorded] = await recordEvents(tx, [event]);
  return recorded!;
}

/** Records several events in one statement (plus one look-up per idempotency key already used). */
export async function recordEvents(tx: DbOrTx, events: readonly NewEvent[]): Promise<RecordedEvent[]> {
  if (!events.length) return [];
  const fallback = currentCorrelationId();
  const values = events.map((e) => ({
    topic: e.topic,
    buildingId: e.buildingId ?? null,
    payload: e.payload ?? null,
    correlationId: e.correlationId ?? fallback,
    idempotencyKey: e.idempotencyKey ?? null,
    ...(e.availableAt ? { availableAt: e.availableAt } : {}),
  }));
  const keyed = values.some((v) => v.idempotencyKey !== null);
  const rows = (await (keyed ? insertKeyedEvents : insertEvents)(tx, { rows: JSON.stringify(values) })).map(
    (r) => ({
      id: r.id,
      topic: r.topic,
      idempotencyKey: r.idempotency_key,
      availableAt: new Date(r.available_at),
    }),
  );
  const pending = pendingStore.get();
  const result: RecordedEvent[] = [];
  // Rows come back in insert order, less those a key collapsed; match them up by position.
  let next = 0;
  for (const v of values) {
    const row = rows[next];
    if (row && row.topic === v.topic && row.idempotencyKey === v.idempotencyKey) {
      next++;
      result.push({ id: row.id, created: true });
      pending?.events.push({
        id: row.id,
        topic: v.topic,
        buildingId: v.buildingId,
        availableAt: row.availableAt,
        correlationId: v.correlationId,
        policy: policyFor(v.topic),
      });
      continue;
    }
    const [existing] = await tx
      .select({ id: outbox.id })
      .from(outbox)
      .where(and(eq(outbox.topic, v.topic), eq(outbox.idempotencyKey, v.idempotencyKey!)))
      .limit(1);
    result.push({ id: existing!.id, created: false });
  }
  return result;
}

/**
 * The insert of `recordEvents`: every row travels in one JSON parameter (jsonb_to_recordset), so
 * many rows cost one JSON.stringify and a statement compiled once, where Drizzle's builder spent
 * ~0.1 ms per row (when a 500-op sync push still recorded 1,000 rows, that was 80% of the push).
 * Columns left out take their defaults, and `available_at` its default when a row has none.
 */
function eventInsert(name: string, keyed: boolean) {
  return preparedSql<{
    id: string;
    topic: string;
    idempotency_key: string | null;
    available_at: Date | string;
  }>(
    name,
    () => sql`insert into ${outbox} (topic, building_id, payload, correlation_id, idempotency_key, available_at)
      select x.topic, x."buildingId", x.payload, x."correlationId", x."idempotencyKey", coalesce(x."availableAt", now())
      from jsonb_to_recordset(${sql.placeholder("rows")}::jsonb) as x(
        topic text, "buildingId" uuid, payload jsonb, "correlationId" text, "idempotencyKey" text, "availableAt" timestamptz)
      ${keyed ? sql`on conflict (topic, idempotency_key) where idempotency_key is not null do nothing` : sql``}
      returning id, topic, idempotency_key, available_at`,
  );
}
const insertEvents = eventInsert("horizon_outbox_record_v1", false);
const insertKeyedEvents = eventInsert("horizon_outbox_record_keyed_v1", true);

/** The write's query builder with the event's insert attached as a CTE (`tx.with(…)`). */
export type WriteWithEvent = ReturnType<DbOrTx["with"]>;

/**
 * Records one event in the write's own statement instead of a statement of its own: `write` gets
 * the query builder with `insert into outbox` attached as a CTE (`q.insert(table)…`,
 * `q.update(table)…`), and PostgreSQL runs a data-modifying CTE whether or not the statement reads
 * it. A REST write then pays no extra round trip for its event (the sync version bump folds its
 * poke the same way). The id and available_at are chosen here, not read back, so the event handed
 * to the transport after commit is exactly the row (QStash's dedup id is id + available_at, which
 * the cron sweep reads from the row). No idempotency key: a collapsed insert could not be told
 * apart from a written one without reading it.
 */
export async function writeWithEvent<T>(
  tx: DbOrTx,
  event: Omit<NewEvent, "idempotencyKey">,
  write: (q: WriteWithEvent) => PromiseLike<T>,
): Promise<{ result: T; eventId: string }> {
  const id = crypto.randomUUID();
  const availableAt = event.availableAt ?? new Date();
  const correlationId = event.correlationId ?? currentCorrelationId();
  const buildingId = event.buildingId ?? null;
  // Written out rather than built by Drizzle, whose INSERT lists every column of the table
  // (`default` for the rest): the shorter statement is what PostgreSQL parses and plans on every
  // write, and measured cheaper (test/bench/outbox.bench.ts).
  const insert = tx.$with("outbox_event", { id: outbox.id }).as(
    sql`insert into ${outbox} (id, building_id, topic, payload, correlation_id, available_at)
      values (${id}, ${buildingId}, ${event.topic}, ${JSON.stringify(event.payload ?? null)}::jsonb,
        ${correlationId}, ${availableAt.toISOString()}::timestamptz) returning id`,
  );
  const result = await write(tx.with(insert));
  // Listed once the statement ran: a write that threw rolls back, and nothing is enqueued.
  pendingStore.get()?.events.push({
    id,
    topic: event.topic,
    buildingId,
    availableAt,
    correlationId,
    policy: policyFor(event.topic),
  });
  return { result, eventId: id };
}

/**
 * Takes events out of the running transaction's after-commit list: a writer that already
 * delivered them right after commit (realtime's fast path) spares the transport a hand-over.
 * Rows it did not deliver stay listed and go through the queue.
 */
export function dropPending(eventIds: readonly string[]): void {
  const pending = pendingStore.get();
  if (!pending || !eventIds.length) return;
  const done = new Set(eventIds);
  pending.events = pending.events.filter((e) => !done.has(e.id));
}

/**
 * Runs `fn` (which opens and commits a transaction) and then hands what it recorded to the
 * queue transport. Nested calls join the outer one, so nothing is enqueued before the outermost
 * commit; when `fn` throws (rolled back) nothing is enqueued.
 */
export async function enqueueAfterCommit<T>(services: Services, fn: () => Promise<T>): Promise<T> {
  if (pendingStore.get()) return fn();
  const pending: Pending = { events: [] };
  const result = await pendingStore.run(pending, fn);
  if (pending.events.length && services.queue) {
    try {
      await services.queue.enqueue(pending.events);
    } catch (err) {
      // The rows are committed and pending: the transport's safety net delivers them.
      services.logger.warn(
        { event: "outbox_enqueue_failed", count: pending.events.length, err: String(err) },
        "outbox enqueue failed; the safety net will deliver",
      );
    }
  }
  return result;
}
