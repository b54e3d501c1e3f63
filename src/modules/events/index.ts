/**
 * Domain events: a write records what happened (`recordDomainEvent`, inside its transaction) and
 * each subscriber gets it as an outbox event of its own topic after commit — one row per
 * subscriber, so notifications and webhooks retry, fail and replay independently, while sharing
 * one `eventId` (the id a webhook receiver or an inbox deduplicates on). Subscribers register a
 * topic at module load (`subscribeToDomainEvents`); the payload their handler gets is a
 * `DomainEventPayload` (src/protocol/events.ts): one envelope, or for a sync batch the events of
 * one building in order (`envelopesOf`), each parsed again with `parseDomainEvent`. A sync batch
 * records its events once, in fan-out rows (`recordDomainEvents`); their handler writes the
 * subscribers' rows after commit, one hop later, off the push's path.
 *
 * The building's live room gets the events it has a frame for (announcement posted, request
 * status changed, payment recorded, sync conflict) through the realtime outbox topic, recorded
 * in the same transaction.
 */

import type { DbOrTx } from "../../platform/db";
import {
  DOMAIN_EVENT_BATCH_MAX,
  DOMAIN_EVENT_DATA,
  DOMAIN_EVENT_FANOUT_MAX,
  type DomainEventData,
  type DomainEventEnvelope,
  type DomainEventFanout,
  DomainEventFanoutSchema,
  type DomainEventType,
  envelopesOfFanout,
} from "../../protocol/events";
import type { DomainEvent } from "../../protocol/realtime";
import { inTransaction } from "../../verbs";
import { type NewEvent, recordEvents } from "../outbox/record";
import { type OutboxHandlerContext, outboxHandlers } from "../outbox/registry";
import { recordBuildingEvent } from "../realtime/publish";

export interface DomainEventSubscription {
  /** The outbox topic the subscriber's handler is registered for, e.g. "webhooks.dispatch". */
  topic: string;
  /** Which types it wants (default: all). */
  types?: readonly DomainEventType[];
}

const subscriptions = new Map<string, DomainEventSubscription>();

/** The topic of a sync batch's events before they are fanned out to subscribers (family `events`). */
export const FANOUT_TOPIC = "events.fanout";

/** Registers a subscriber topic; answers a function that removes it (tests). */
export function subscribeToDomainEvents(subscription: DomainEventSubscription): () => void {
  if (subscriptions.has(subscription.topic)) {
    throw new Error(`domain events are already delivered to ${subscription.topic}`);
  }
  subscriptions.set(subscription.topic, subscription);
  return () => {
    if (subscriptions.get(subscription.topic) === subscription) subscriptions.delete(subscription.topic);
  };
}

export function domainEventSubscriptions(): DomainEventSubscription[] {
  return [...subscriptions.values()];
}

export interface NewDomainEvent<T extends DomainEventType> {
  type: T;
  buildingId: string;
  actorId: string | null;
  data: DomainEventData<T>;
  /** Default: now. */
  occurredAt?: Date;
  /** Not delivered to subscribers before this instant (a scheduled publication). */
  availableAt?: Date;
}

/** The live-room frame of a domain event, where the room protocol has one. */
function roomFrame(envelope: DomainEventEnvelope): DomainEvent | null {
  switch (envelope.type) {
    case "announcement.published": {
      const d = envelope.data as DomainEventData<"announcement.published">;
      return {
        kind: "announcement.posted",
        announcementId: d.announcementId,
        title: d.title,
        priority: d.priority,
        authorId: d.authorId,
      };
    }
    case "maintenance.status_changed": {
      const d = envelope.data as DomainEventData<"maintenance.status_changed">;
      if (!d.changedBy) return null;
      return {
        kind: "request.status_changed",
        requestId: d.requestId,
        from: d.from,
        to: d.to,
        changedBy: d.changedBy,
      };
    }
    case "payment.recorded": {
      const d = envelope.data as DomainEventData<"payment.recorded">;
      return {
        kind: "payment.recorded",
        paymentId: d.paymentId,
        apartmentId: d.apartmentId,
        amountMinor: d.amountMinor,
        currency: d.currency,
      };
    }
    case "sync.conflict": {
      const d = envelope.data as DomainEventData<"sync.conflict">;
      return { kind: "sync.conflict", conflictId: d.conflictId, userId: d.userId, entity: d.entity };
    }
    default:
      return null;
  }
}

/**
 * Records several domain events in one statement (a sync batch): subscribers only, no room
 * frames — the batch's poke already tells the building's clients to pull. The events go into
 * fan-out rows (`events.fanout`, one per building, actor, time and delivery time, at most
 * DOMAIN_EVENT_FANOUT_MAX events each), written once whatever the number of subscribers; after
 * commit the fan-out handler writes each subscriber's rows. Nothing is written when no subscriber
 * is registered in this process (the same rule as for single events).
 */
export async function recordDomainEvents(tx: DbOrTx, events: ReadonlyArray<NewDomainEvent<DomainEventType>>) {
  if (!events.length || !subscriptions.size) return;
  const now = new Date().toISOString();
  const groups = new Map<string, { availableAt?: Date; batch: DomainEventFanout }>();
  const rows: Array<{ availableAt?: Date; batch: DomainEventFanout }> = [];
  for (const event of events) {
    const occurredAt = event.occurredAt ? event.occurredAt.toISOString() : now;
    const key = `${event.buildingId}\n${event.actorId}\n${occurredAt}\n${event.availableAt?.getTime() ?? ""}`;
    let group = groups.get(key);
    if (!group || group.batch.events.length === DOMAIN_EVENT_FANOUT_MAX) {
      group = {
        ...(event.availableAt ? { availableAt: event.availableAt } : {}),
        batch: { buildingId: event.buildingId, occurredAt, actorId: event.actorId, events: [] },
      };
      groups.set(key, group);
      rows.push(group);
    }
    group.batch.events.push({ eventId: crypto.randomUUID(), type: event.type, data: validData(event) });
  }
  await recordEvents(
    tx,
    rows.map(({ batch, availableAt }) => ({
      topic: FANOUT_TOPIC,
      buildingId: batch.buildingId,
      payload: batch,
      ...(availableAt ? { availableAt } : {}),
    })),
  );
}

/**
 * The fan-out rows' handler: each subscriber's rows for a fan-out row's events, in order, at most
 * DOMAIN_EVENT_BATCH_MAX per row (one event stays a plain envelope), written in one transaction
 * and keyed by the fan-out row, its subscriber and the chunk, so a redelivered fan-out row writes
 * nothing twice. Subscribers are those of the process running it (the job service's modules).
 */
async function fanOut(batch: DomainEventFanout, ctx: OutboxHandlerContext): Promise<void> {
  const envelopes = envelopesOfFanout(batch);
  const rows: NewEvent[] = [];
  for (const s of subscriptions.values()) {
    const wanted = s.types ? envelopes.filter((e) => s.types!.includes(e.type)) : envelopes;
    for (let i = 0; i < wanted.length; i += DOMAIN_EVENT_BATCH_MAX) {
      const chunk = wanted.slice(i, i + DOMAIN_EVENT_BATCH_MAX);
      rows.push({
        topic: s.topic,
        buildingId: batch.buildingId,
        payload: chunk.length === 1 ? chunk[0] : { events: chunk },
        correlationId: ctx.event.correlationId,
        idempotencyKey: `${ctx.event.id}:${i / DOMAIN_EVENT_BATCH_MAX}`,
      });
    }
  }
  if (rows.length) await inTransaction(ctx, (tx) => recordEvents(tx.db, rows).then(() => {}));
}

outboxHandlers.register(FANOUT_TOPIC, { payload: DomainEventFanoutSchema, handle: fanOut });

/** The event's data, checked against its type's schema (a producer bug fails the write). */
function validData(event: NewDomainEvent<DomainEventType>): DomainEventData<DomainEventType> {
  return wellFormed(DOMAIN_EVENT_DATA[event.type].parse(event.data)) as DomainEventData<DomainEventType>;
}

function envelopeOf<T extends DomainEventType>(event: NewDomainEvent<T>): DomainEventEnvelope<T> {
  return {
    eventId: crypto.randomUUID(),
    type: event.type,
    buildingId: event.buildingId,
    occurredAt: (event.occurredAt ?? new Date()).toISOString(),
    actorId: event.actorId,
    data: validData(event) as DomainEventData<T>,
  };
}

/**
 * Texts a client wrote (titles, comment excerpts) may hold a lone UTF-16 surrogate, which a text
 * column takes (the driver writes U+FFFD) but PostgreSQL's JSON refuses: the event's JSON gets
 * U+FFFD too, as the row got, instead of failing the write. NUL cannot reach here (refused at input).
 */
function wellFormed<T extends Record<string, unknown>>(data: T): T {
  let copy: Record<string, unknown> | null = null;
  for (const [key, value] of Object.entries(data)) {
    if (typeof value === "string" && HAS_LONE_SURROGATE.test(value)) {
      copy ??= { ...data };
      copy[key] = value.replace(LONE_SURROGATE, "\uFFFD");
    }
  }
  return (copy ?? data) as T;
}

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const HAS_LONE_SURROGATE = new RegExp(LONE_SURROGATE.source);

/**
 * Records a domain event in `tx` (the writing transaction): one outbox event per subscriber that
 * wants its type, plus the room frame. The data is validated here, so a producer bug fails the
 * write instead of a subscriber later. Answers the envelope.
 */
export async function recordDomainEvent<T extends DomainEventType>(
  tx: DbOrTx,
  event: NewDomainEvent<T>,
  options: { room?: boolean } = {},
): Promise<DomainEventEnvelope<T>> {
  const envelope = envelopeOf(event);
  const targets = domainEventSubscriptions().filter((s) => !s.types || s.types.includes(event.type));
  await recordEvents(
    tx,
    targets.map((s) => ({
      topic: s.topic,
      buildingId: event.buildingId,
      payload: envelope,
      ...(event.availableAt ? { availableAt: event.availableAt } : {}),
    })),
  );
  const frame =
    options.room === false || event.availableAt ? null : roomFrame(envelope as DomainEventEnvelope);
  if (frame) await recordBuildingEvent(tx, event.buildingId, frame);
  return envelope;
}
