/**
 * Operating the outbox: dead letters (list, replay one, replay many), the backlog figures that
 * /health/ready and the stats route report, and pruning of delivered rows. Platform
 * administrators reach these through ./routes; hosts call `pruneDelivered` on a timer.
 */
import { and, count, eq, isNotNull, lte, type SQL, sql } from "drizzle-orm";
import { ApiError } from "../../errors";
import { type Paginated, type PaginationQuery, paginate } from "../../http/pagination";
import { queryRows } from "../../platform/db";
import type { CommittedEvent } from "../../platform/queue";
import type { Services } from "../../services";
import { userOf, type VerbContext } from "../../verbs";
import { policyFor } from "./policies";
import { outbox } from "./schema";

type Row = typeof outbox.$inferSelect;

export interface DeadFilters {
  topic?: string;
  buildingId?: string;
}

export interface DeadEvent {
  id: string;
  topic: string;
  buildingId: string | null;
  payload: unknown;
  correlationId: string;
  attempts: number;
  lastError: string | null;
  createdAt: string;
  deadAt: string;
}

const toDeadEvent = (r: Row): DeadEvent => ({
  id: r.id,
  topic: r.topic,
  buildingId: r.buildingId,
  payload: r.payload,
  correlationId: r.correlationId,
  attempts: r.attempts,
  lastError: r.lastError,
  createdAt: r.createdAt.toISOString(),
  deadAt: (r.deadAt ?? r.createdAt).toISOString(),
});

function deadWhere(filters: DeadFilters): SQL {
  const conditions: SQL[] = [isNotNull(outbox.deadAt)];
  if (filters.topic) conditions.push(eq(outbox.topic, filters.topic));
  if (filters.buildingId) conditions.push(eq(outbox.buildingId, filters.buildingId));
  return and(...conditions)!;
}

/** Dead events, most recently dead first. */
export async function listDeadEvents(
  ctx: VerbContext,
  filters: DeadFilters,
  query: PaginationQuery,
): Promise<Paginated<DeadEvent>> {
  const page = await paginate<Row>({
    query,
    scope: `outbox-dead:${JSON.stringify(filters)}`,
    secret: ctx.services.config.JWT_SECRET!,
    now: ctx.now,
    sort: { column: outbox.deadAt, id: outbox.id, direction: "desc", key: (r) => r.deadAt ?? r.createdAt },
    where: deadWhere(filters),
    fetch: ({ where, orderBy, limit, offset }) =>
      ctx.db
        .select()
        .from(outbox)
        .where(where)
        .orderBy(...orderBy)
        .limit(limit)
        .offset(offset),
    count: async (where) => {
      const [row] = await ctx.db.select({ n: count() }).from(outbox).where(where);
      return Number(row?.n ?? 0);
    },
  });
  return { data: page.data.map(toDeadEvent), pagination: page.pagination };
}

const toCommitted = (
  r: Pick<Row, "id" | "topic" | "buildingId" | "availableAt" | "correlationId">,
): CommittedEvent => ({
  id: r.id,
  topic: r.topic,
  buildingId: r.buildingId,
  availableAt: r.availableAt,
  correlationId: r.correlationId,
  policy: policyFor(r.topic),
});

/** Makes rows due again with a fresh attempt count and hands them to the transport. */
async function requeue(ctx: VerbContext, where: SQL, limit?: number): Promise<CommittedEvent[]> {
  const target = limit
    ? sql`${outbox.id} in (select id from outbox where ${where} order by dead_at limit ${limit} for update skip locked)`
    : where;
  const rows = await ctx.db
    .update(outbox)
    .set({
      deadAt: null,
      dispatchedAt: null,
      claimedUntil: null,
      publishedAt: null,
      attempts: 0,
      availableAt: ctx.now,
    })
    .where(target)
    .returning({
      id: outbox.id,
      topic: outbox.topic,
      buildingId: outbox.buildingId,
      availableAt: outbox.availableAt,
      correlationId: outbox.correlationId,
    });
  const events = rows.map(toCommitted);
  if (events.length && ctx.services.queue) {
    try {
      await ctx.services.queue.enqueue(events);
    } catch (err) {
      ctx.services.logger.warn(
        { event: "outbox_enqueue_failed", err: String(err) },
        "replayed events wait for the safety net",
      );
    }
  }
  return events;
}

/**
 * Replays one event that is dead or already delivered: it becomes due now with its attempts
 * reset (its last error stays for the record until it is delivered again). A pending event is
 * left alone (409): it is on its way already.
 */
export async function replayEvent(ctx: VerbContext, eventId: string): Promise<{ id: string; topic: string }> {
  const [row] = await ctx.db.select().from(outbox).where(eq(outbox.id, eventId)).limit(1);
  if (!row) throw new ApiError("NOT_FOUND", "no such outbox event");
  if (!row.deadAt && !row.dispatchedAt)
    throw new ApiError("CONFLICT", "the event is pending; it is delivered without a replay");
  const [replayed] = await requeue(
    ctx,
    and(eq(outbox.id, eventId), sql`(${outbox.deadAt} is not null or ${outbox.dispatchedAt} is not null)`)!,
  );
  if (!replayed) throw new ApiError("CONFLICT", "the event was replayed by someone else just now");
  ctx.services.logger.info(
    { event: "outbox_replayed", outboxId: eventId, topic: row.topic, by: userOf(ctx)?.userId },
    "outbox event replayed",
  );
  return { id: replayed.id, topic: replayed.topic };
}

/** Replays up to `limit` dead events matching the filters (oldest first). */
export async function replayDeadEvents(
  ctx: VerbContext,
  filters: DeadFilters,
  limit: number,
): Promise<{ replayed: number }> {
  const events = await requeue(ctx, deadWhere(filters), limit);
  ctx.services.logger.info(
    { event: "outbox_replayed", count: events.length, filters, by: userOf(ctx)?.userId },
    "dead outbox events replayed",
  );
  return { replayed: events.length };
}

export interface OutboxStats {
  /** Neither delivered nor dead (due now or later). */
  pending: number;
  /** Pending and due now. */
  due: number;
  /** Seconds the oldest due event has waited since it became due (0 when none). */
  oldestDueAgeSeconds: number;
  dead: number;
  /** Held by a consumer right now. */
  inFlight: number;
}

/** The backlog in one statement (the due/dead partial indexes serve the filters). */
export async function outboxStats(services: Services): Promise<OutboxStats> {
  const now = services.clock.now();
  const [row] = await queryRows<{
    pending: string;
    due: string;
    oldest: string | Date | null;
    dead: string;
    in_flight: string;
  }>(
    services.database.db,
    sql`select
      (select count(*) from outbox where dispatched_at is null and dead_at is null) as pending,
      (select count(*) from outbox where dispatched_at is null and dead_at is null and available_at <= ${now}) as due,
      (select min(available_at) from outbox where dispatched_at is null and dead_at is null and available_at <= ${now}) as oldest,
      (select count(*) from outbox where dead_at is not null) as dead,
      (select count(*) from outbox where dispatched_at is null and dead_at is null and claimed_until > ${now}) as in_flight`,
  );
  const oldest = row?.oldest ? new Date(row.oldest) : null;
  return {
    pending: Number(row?.pending ?? 0),
    due: Number(row?.due ?? 0),
    oldestDueAgeSeconds: oldest && oldest <= now ? Math.floor((now.getTime() - oldest.getTime()) / 1000) : 0,
    dead: Number(row?.dead ?? 0),
    inFlight: Number(row?.in_flight ?? 0),
  };
}

/** Deletes rows delivered more than `olderThanMs` ago (default: OUTBOX_RETENTION_HOURS). */
export async function pruneDelivered(
  services: Services,
  options: { olderThanMs?: number } = {},
): Promise<number> {
  const ms = options.olderThanMs ?? services.config.OUTBOX_RETENTION_HOURS * 60 * 60 * 1000;
  const cutoff = new Date(services.clock.now().getTime() - ms);
  const deleted = await services.database.db
    .delete(outbox)
    .where(and(isNotNull(outbox.dispatchedAt), lte(outbox.dispatchedAt, cutoff)))
    .returning({ id: outbox.id });
  return deleted.length;
}

export interface Backlog {
  /** Pending events due now, counted up to OUTBOX_BACKLOG_DEGRADED + 1 (a bounded scan). */
  due: number;
  oldestDueAgeSeconds: number;
  degraded: boolean;
}

/**
 * The backlog as /health/ready reports it: degraded past OUTBOX_BACKLOG_DEGRADED due events or
 * when the oldest has waited over OUTBOX_BACKLOG_MAX_AGE_SECONDS. One bounded round trip, so a
 * probe stays cheap however large the backlog grows.
 */
export async function outboxBacklog(services: Services): Promise<Backlog> {
  const { OUTBOX_BACKLOG_DEGRADED: limit, OUTBOX_BACKLOG_MAX_AGE_SECONDS: maxAge } = services.config;
  const now = services.clock.now();
  const [row] = await queryRows<{ due: string | number; oldest: string | Date | null }>(
    services.database.db,
    sql`select
      (select count(*) from (select 1 from outbox where dispatched_at is null and dead_at is null
        and available_at <= ${now} limit ${limit + 1}) d) as due,
      (select min(available_at) from outbox where dispatched_at is null and dead_at is null
        and available_at <= ${now}) as oldest`,
  );
  const due = Number(row?.due ?? 0);
  const oldest = row?.oldest ? new Date(row.oldest) : null;
  const oldestDueAgeSeconds = oldest ? Math.max(0, Math.floor((now.getTime() - oldest.getTime()) / 1000)) : 0;
  return { due, oldestDueAgeSeconds, degraded: due > limit || oldestDueAgeSeconds > maxAge };
}
