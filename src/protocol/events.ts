/**
 * Domain events: what happened in a building, recorded once by the write that did it and handed
 * to every subscriber after commit (notifications, webhooks). The envelope and each type's data
 * are the public contract of the webhook catalogue (OpenAPI `webhooks`), so fields are only ever
 * added. Values are ids, short texts and amounts; nothing here is a secret.
 */
import { z } from "@hono/zod-openapi";

const uuid = z.uuid();
const isoTime = z.iso.datetime({ offset: true });
const shortText = z.string().max(1000);

const announcement = {
  announcementId: uuid,
  title: shortText,
  priority: z.enum(["normal", "important", "urgent"]),
  authorId: uuid,
};

/** Each type's `data`. */
export const DOMAIN_EVENT_DATA = {
  "announcement.published": z.strictObject({ ...announcement, publishedAt: isoTime }),
  "announcement.updated": z.strictObject({ ...announcement }),
  "announcement.deleted": z.strictObject({ announcementId: uuid }),
  "maintenance.created": z.strictObject({
    requestId: uuid,
    title: shortText,
    category: z.string().max(64).nullable(),
    priority: z.string().max(64),
    requesterId: uuid,
    apartmentId: uuid.nullable(),
  }),
  "maintenance.status_changed": z.strictObject({
    requestId: uuid,
    title: shortText,
    from: z.string().max(64).nullable(),
    to: z.string().max(64),
    requesterId: uuid,
    assigneeId: uuid.nullable(),
    changedBy: uuid.nullable(),
  }),
  "maintenance.commented": z.strictObject({
    requestId: uuid,
    commentId: uuid,
    title: shortText,
    authorId: uuid,
    requesterId: uuid,
    assigneeId: uuid.nullable(),
    /** The first 280 characters of the comment. */
    excerpt: z.string().max(280),
  }),
  "payment.recorded": z.strictObject({
    paymentId: uuid,
    apartmentId: uuid.nullable(),
    amountMinor: z.number().int(),
    currency: z.string().length(3),
    paidAt: isoTime.nullable(),
  }),
  "payment.due": z.strictObject({
    paymentId: uuid,
    apartmentId: uuid.nullable(),
    amountMinor: z.number().int(),
    currency: z.string().length(3),
    dueDate: z.iso.date(),
  }),
  "member.joined": z.strictObject({
    memberId: uuid,
    userId: uuid,
    role: z.enum(["manager", "resident"]),
    apartmentId: uuid.nullable(),
    /** true when the user has no account yet (an invitation by email). */
    invited: z.boolean(),
  }),
  "member.left": z.strictObject({ memberId: uuid, userId: uuid }),
  "sync.conflict": z.strictObject({
    conflictId: uuid,
    /** The user whose offline edit lost. */
    userId: uuid,
    entity: z.string().max(64),
    rowId: z.string().max(128),
    field: z.string().max(128),
    /** The losing and the winning value, as JSON text (truncated to 1,000 characters). */
    theirs: z.string().max(1000).nullable(),
    winner: z.string().max(1000).nullable(),
  }),
} as const;

export type DomainEventType = keyof typeof DOMAIN_EVENT_DATA;
export const DOMAIN_EVENT_TYPES = Object.keys(DOMAIN_EVENT_DATA) as DomainEventType[];
export type DomainEventData<T extends DomainEventType> = z.infer<(typeof DOMAIN_EVENT_DATA)[T]>;

/** What a subscriber's handler receives (the payload of its outbox event). */
export const DomainEventEnvelopeSchema = z.strictObject({
  /** One id per domain event, the same for every subscriber. */
  eventId: uuid,
  type: z.enum(DOMAIN_EVENT_TYPES as [DomainEventType, ...DomainEventType[]]),
  buildingId: uuid,
  occurredAt: isoTime,
  /** The user who caused it; null for the system (a scheduled job). */
  actorId: uuid.nullable(),
  data: z.record(z.string(), z.unknown()),
});

export type DomainEventEnvelope<T extends DomainEventType = DomainEventType> = {
  eventId: string;
  type: T;
  buildingId: string;
  occurredAt: string;
  actorId: string | null;
  data: DomainEventData<T>;
};

/** Most domain events one outbox row carries (a sync batch's events are grouped into such rows). */
export const DOMAIN_EVENT_BATCH_MAX = 100;

/**
 * What a subscriber's outbox row carries: one envelope (a REST write), or the events of one write
 * for one building and delivery time (a sync batch), in the order they happened. A 500-op batch
 * used to be one row per event per subscriber, and writing those rows was most of the push.
 */
export const DomainEventPayloadSchema = z.union([
  DomainEventEnvelopeSchema,
  z.strictObject({ events: z.array(DomainEventEnvelopeSchema).min(1).max(DOMAIN_EVENT_BATCH_MAX) }),
]);
export type DomainEventPayload = z.infer<typeof DomainEventPayloadSchema>;

/** Most events one fan-out row carries (a sync batch's events of one building, in order). */
export const DOMAIN_EVENT_FANOUT_MAX = 500;

/**
 * A sync batch's domain events as recorded in its transaction: one row of topic `events.fanout`
 * per building (and delivery time), written once for all subscribers, the fields every event of
 * the batch shares said once. After commit its handler writes each subscriber's rows (payloads
 * as above, `DomainEventPayloadSchema`), so a 500-op push writes ~140 KB of events instead of
 * the ~450 KB of full envelopes, once per subscriber, it used to.
 */
export const DomainEventFanoutSchema = z.strictObject({
  buildingId: uuid,
  occurredAt: isoTime,
  actorId: uuid.nullable(),
  events: z
    .array(
      z.strictObject({
        eventId: uuid,
        type: DomainEventEnvelopeSchema.shape.type,
        data: z.record(z.string(), z.unknown()),
      }),
    )
    .min(1)
    .max(DOMAIN_EVENT_FANOUT_MAX),
});
export type DomainEventFanout = z.infer<typeof DomainEventFanoutSchema>;

/** The full envelopes of a fan-out row, in order. */
export function envelopesOfFanout(batch: DomainEventFanout): DomainEventEnvelope[] {
  return batch.events.map(
    (e) =>
      ({
        eventId: e.eventId,
        type: e.type,
        buildingId: batch.buildingId,
        occurredAt: batch.occurredAt,
        actorId: batch.actorId,
        data: e.data,
      }) as DomainEventEnvelope,
  );
}

/** The envelopes of a subscriber's payload, in order (unparsed data: see parseDomainEvent). */
export function envelopesOf(payload: DomainEventPayload): unknown[] {
  return "events" in payload ? payload.events : [payload];
}

/** Parses an envelope and its type's data; throws a ZodError on anything else. */
export function parseDomainEvent(input: unknown): DomainEventEnvelope {
  const envelope = DomainEventEnvelopeSchema.parse(input);
  const data = DOMAIN_EVENT_DATA[envelope.type].parse(envelope.data);
  return { ...envelope, data } as DomainEventEnvelope;
}
