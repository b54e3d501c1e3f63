/**
 * Publishing into building rooms after commit. A writer records messages inside its transaction
 * (an outbox row each, same transaction); `inTransaction` publishes them once the transaction has
 * committed and marks the rows dispatched. A crash or failed publish between commit and publish
 * leaves the rows pending, and `retryPendingRealtime` (the outbox dispatcher for realtime topics)
 * sends them later: at least once, which is safe as pokes and events are idempotent for clients.
 */
import { and, asc, inArray, isNull, like, lt, sql } from "drizzle-orm";
import { currentContext, scopedValue } from "../../context";
import type { DbOrTx } from "../../platform/db";
import type { BusMessage } from "../../platform/realtime";
import type { Services } from "../../services";
import { invalidateBuildingCaches } from "../buildings/cache-tags";
import { outbox } from "../outbox/schema";
import { type DomainEvent, DomainEventSchema, type RevokeMessage, RoomMessageSchema } from "./protocol";

export const REALTIME_TOPICS = {
  poke: "realtime.poke",
  event: "realtime.event",
  revoke: "realtime.revoke",
} as const;

interface Pending {
  messages: Array<{ outboxId: string; message: BusMessage }>;
}

/** The messages of the transaction running now (see publishAfterCommit). */
const pendingStore = scopedValue<Pending>("horizon.realtime.pending");

async function record(tx: DbOrTx, topic: string, message: BusMessage): Promise<void> {
  const [row] = await tx
    .insert(outbox)
    .values({
      buildingId: message.buildingId,
      topic,
      payload: message,
      correlationId: currentContext()?.correlationId ?? "",
    })
    .returning({ id: outbox.id });
  pendingStore.get()?.messages.push({ outboxId: row!.id, message });
}

/**
 * Queues an outbox row the caller inserted itself (bumpBuildingVersion writes the poke row in the
 * statement that bumps the version) for publishing after commit, like `record` does.
 */
export function notePending(outboxId: string, message: BusMessage): void {
  pendingStore.get()?.messages.push({ outboxId, message });
}

/** The correlation id recorded with outbox rows written now. */
export const outboxCorrelationId = (): string => currentContext()?.correlationId ?? "";

/**
 * Records a domain event in the writing transaction; it reaches the room (and SSE) after
 * commit. Call it inside `inTransaction` next to the write, e.g.
 * `await recordBuildingEvent(tx.db, buildingId, { kind: "payment.recorded", ... })`.
 */
export async function recordBuildingEvent(tx: DbOrTx, buildingId: string, event: DomainEvent): Promise<void> {
  const parsed = DomainEventSchema.parse(event);
  await record(tx, REALTIME_TOPICS.event, {
    type: "event",
    buildingId,
    event: parsed,
    at: new Date().toISOString(),
  });
}

/**
 * Records, in the transaction that changes a user's standing in a building (removal, role
 * change, account restriction), that the rooms and event streams must drop that user's
 * connections and refuse room tokens minted before `version` (the building version the change
 * committed at). Published after commit like pokes, and retried by the outbox dispatcher, so a
 * crash after commit cannot leave the user connected (ADR 0003).
 */
export async function recordRevocation(tx: DbOrTx, revocation: Omit<RevokeMessage, "type">): Promise<void> {
  await record(tx, REALTIME_TOPICS.revoke, { type: "revoke", ...revocation });
}

/**
 * Publishes a domain event now, without the outbox (best effort; for callers outside a
 * transaction whose write has already committed). Prefer recordBuildingEvent inside the write.
 */
export async function publishBuildingEvent(
  services: Services,
  buildingId: string,
  event: DomainEvent,
): Promise<void> {
  const parsed = DomainEventSchema.parse(event);
  await services.realtime.publish({
    type: "event",
    buildingId,
    event: parsed,
    at: services.clock.now().toISOString(),
  });
}

/**
 * Runs `fn` (which opens and commits a transaction) and then publishes what it recorded. Nested
 * calls join the outer one, so nothing is published before the outermost commit.
 */
export async function publishAfterCommit<T>(services: Services, fn: () => Promise<T>): Promise<T> {
  if (pendingStore.get()) return fn();
  const pending: Pending = { messages: [] };
  const result = await pendingStore.run(pending, fn);
  // Committed: drop the cached reads of every building whose version moved, before the poke
  // makes clients refetch (a read after a write must not see the old rows).
  const bumped = pending.messages.filter((m) => m.message.type === "poke").map((m) => m.message.buildingId);
  if (bumped.length) await invalidateBuildingCaches(services, bumped);
  if (pending.messages.length) {
    // Revocations first: a removed member must not receive the poke of its own removal.
    const revokes = pending.messages.filter((m) => m.message.type === "revoke");
    await flush(
      services,
      revokes.length
        ? [...revokes, ...pending.messages.filter((m) => m.message.type !== "revoke")]
        : pending.messages,
    );
  }
  return result;
}

async function flush(services: Services, messages: Pending["messages"]): Promise<void> {
  const sent: string[] = [];
  for (const { outboxId, message } of messages) {
    try {
      await services.realtime.publish(message);
      sent.push(outboxId);
    } catch (err) {
      services.logger.warn(
        { event: "realtime_publish_failed", outboxId, buildingId: message.buildingId, err: String(err) },
        "realtime publish failed; the outbox dispatcher will retry",
      );
    }
  }
  if (!sent.length) return;
  try {
    await services.database.db
      .update(outbox)
      .set({ dispatchedAt: sql`now()` })
      .where(inArray(outbox.id, sent));
  } catch (err) {
    // Unmarked rows are published again by the dispatcher: a duplicate poke, never a lost one.
    services.logger.warn(
      { event: "outbox_mark_failed", err: String(err) },
      "could not mark realtime rows dispatched",
    );
  }
}

/** The outbox handler for realtime topics: validates the stored message and publishes it. */
export async function dispatchRealtimeOutboxRow(
  services: Services,
  row: { topic: string; payload: unknown },
) {
  const message = RoomMessageSchema.parse(row.payload);
  await services.realtime.publish(message as BusMessage);
}

/**
 * Publishes realtime outbox rows still pending after `olderThanMs` (commit happened, publish did
 * not). Rows are claimed with SKIP LOCKED so concurrent dispatchers never send one row twice at
 * the same time. Answers how many rows were sent.
 */
export async function retryPendingRealtime(
  services: Services,
  options: { olderThanMs?: number; limit?: number } = {},
): Promise<number> {
  const cutoff = new Date(services.clock.now().getTime() - (options.olderThanMs ?? 5000));
  return services.database.db.transaction(async (tx) => {
    const rows = await tx
      .select({ id: outbox.id, topic: outbox.topic, payload: outbox.payload, attempts: outbox.attempts })
      .from(outbox)
      .where(and(isNull(outbox.dispatchedAt), like(outbox.topic, "realtime.%"), lt(outbox.createdAt, cutoff)))
      .orderBy(asc(outbox.createdAt))
      .limit(options.limit ?? 100)
      .for("update", { skipLocked: true });
    let sent = 0;
    for (const row of rows) {
      try {
        await dispatchRealtimeOutboxRow(services, row);
        await tx
          .update(outbox)
          .set({ dispatchedAt: sql`now()` })
          .where(inArray(outbox.id, [row.id]));
        sent++;
      } catch (err) {
        await tx
          .update(outbox)
          .set({ attempts: row.attempts + 1, lastError: String(err).slice(0, 500) })
          .where(inArray(outbox.id, [row.id]));
      }
    }
    return sent;
  });
}

/**
 * Deletes realtime outbox rows dispatched more than `olderThanMs` ago: every building write adds
 * one, so without pruning the table grows with traffic. Pending rows and other topics are kept.
 */
export async function pruneDispatchedRealtime(
  services: Services,
  options: { olderThanMs?: number } = {},
): Promise<number> {
  const cutoff = new Date(services.clock.now().getTime() - (options.olderThanMs ?? 60 * 60 * 1000));
  const deleted = await services.database.db
    .delete(outbox)
    .where(and(like(outbox.topic, "realtime.%"), lt(outbox.dispatchedAt, cutoff)))
    .returning({ id: outbox.id });
  return deleted.length;
}
