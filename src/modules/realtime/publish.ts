/**
 * Publishing into building rooms after commit, through the outbox. A writer records messages
 * inside its transaction (an outbox event each, via recordEvent); `inTransaction` publishes them
 * right after the commit (the fast path: a poke reaches the room before the response) and marks
 * them dispatched. Whatever that path could not publish stays pending and goes through the queue
 * transport like every other event: the realtime handlers registered below (./outbox-handlers.ts)
 * publish it with the realtime retry policy, on the standalone host and on the edge alike.
 */
import { inArray, sql } from "drizzle-orm";
import { scopedValue } from "../../context";
import type { DbOrTx } from "../../platform/db";
import type { BusMessage } from "../../platform/realtime";
import { type DomainEvent, DomainEventSchema, type RevokeMessage } from "../../protocol/realtime";
import type { Services } from "../../services";
import { runAfterCommit } from "../outbox/after-commit";
import {
  currentCorrelationId,
  dropPending,
  enqueueAfterCommit,
  noteRecorded,
  recordEvent,
} from "../outbox/record";
import { outbox } from "../outbox/schema";

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
  const { id } = await recordEvent(tx, { topic, buildingId: message.buildingId, payload: message });
  pendingStore.get()?.messages.push({ outboxId: id, message });
}

/**
 * Queues an outbox row the caller inserted itself (bumpBuildingVersion writes the poke row in the
 * statement that bumps the version) for publishing after commit, like `record` does, and for the
 * queue transport should that publish fail.
 */
export function notePending(outboxId: string, topic: string, message: BusMessage): void {
  noteRecorded({
    id: outboxId,
    topic,
    buildingId: message.buildingId,
    correlationId: currentCorrelationId(),
  });
  pendingStore.get()?.messages.push({ outboxId, message });
}

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
 * Runs `fn` (which opens and commits a transaction) and then publishes what it recorded; what
 * could not be published is handed to the queue transport (enqueueAfterCommit, joined when a
 * caller such as inTransaction opened it already). Nested calls join the outer one, so nothing
 * is published before the outermost commit.
 */
export function publishAfterCommit<T>(services: Services, fn: () => Promise<T>): Promise<T> {
  return enqueueAfterCommit(services, () => publishOwn(services, fn));
}

async function publishOwn<T>(services: Services, fn: () => Promise<T>): Promise<T> {
  if (pendingStore.get()) return fn();
  const pending: Pending = { messages: [] };
  const result = await pendingStore.run(pending, fn);
  // Committed: the hooks modules registered run before the poke makes clients refetch (the
  // buildings module drops the cached reads of every building whose version moved).
  const bumped = pending.messages.filter((m) => m.message.type === "poke").map((m) => m.message.buildingId);
  if (pending.messages.length) await runAfterCommit(services, { bumpedBuildings: bumped });
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
        "realtime publish failed; the outbox queue will retry",
      );
    }
  }
  if (!sent.length) return;
  try {
    // Only rows no consumer holds: one that claimed a row meanwhile settles it itself.
    await services.database.db
      .update(outbox)
      .set({ dispatchedAt: sql`now()` })
      .where(sql`${inArray(outbox.id, sent)} and ${outbox.claimedUntil} is null`);
    // Delivered: the queue transport need not carry them (on QStash, a message per poke saved).
    dropPending(sent);
  } catch (err) {
    // Unmarked rows go through the queue: a duplicate poke, never a lost one.
    services.logger.warn(
      { event: "outbox_mark_failed", err: String(err) },
      "could not mark realtime rows dispatched",
    );
  }
}
