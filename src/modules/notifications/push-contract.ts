/**
 * The contract between deciding a notification (what to send to whom: events, templates,
 * preferences, quiet hours) and delivering it (which devices, which provider, the delivery log).
 * The deciding side records one outbox event per chunk of recipients on PUSH_TOPIC (PushChunkPayload:
 * the texts once per locale, the recipients as id pairs); the Node-only send handler
 * (src/modules/push/handlers.ts) delivers it to every device of every recipient in one run. Events
 * of the older shape (PushPayload: one recipient) may still wait in a deployed queue and are
 * handled the same way. Edge-safe: zod only.
 */
import { z } from "@hono/zod-openapi";

/** Outbox topic of a rendered notification for one user (family `notifications`: 1/2/4 s retries). */
export const PUSH_TOPIC = "notifications.push";
/** Outbox topic of a background sync poke (silent/data-only push) for one user of one building. */
export const SYNC_POKE_TOPIC = "notifications.sync-poke";

export const PushPayloadSchema = z.object({
  /** Stable id of this notification: the delivery log and retries key on it (idempotency). */
  notificationId: z.uuid(),
  userId: z.uuid(),
  buildingId: z.uuid().nullable(),
  /** Event type, e.g. `announcement.published`; carried to the device in the data map. */
  type: z.string().min(1).max(100),
  /** Already rendered and localized; the sender truncates to each provider's payload limit. */
  title: z.string().max(10_000),
  body: z.string().max(100_000),
  locale: z.string().min(2).max(35),
  /** String-to-string data for the app (FCM data maps only carry strings). */
  data: z.record(z.string(), z.string()),
  /** Urgent: high priority on every provider (Urgency: high / android priority high / apns-priority 10). */
  urgent: z.boolean(),
  /** Replaces an earlier undelivered notification with the same key (Topic / collapse_key / apns-collapse-id). */
  collapseKey: z.string().min(1).max(64).optional(),
  /** How long a provider may hold the notification for an offline device. */
  ttlSeconds: z.number().int().min(0).max(2_419_200).optional(),
});
export type PushPayload = z.infer<typeof PushPayloadSchema>;

/** Recipients per chunk event: one device look-up, one log insert and one update per chunk. */
export const PUSH_CHUNK_MAX = 200;

const TextSchema = z.object({ title: z.string().max(10_000), body: z.string().max(100_000) });

/**
 * One rendered notification for a chunk of recipients (one notice, one delivery time): what every
 * recipient shares once, and per recipient only the notification id, the user and the locale whose
 * text they get. `data` is the app's data map less `notificationId`, which is each recipient's own.
 */
export const PushChunkPayloadSchema = z
  .object({
    buildingId: z.uuid().nullable(),
    type: z.string().min(1).max(100),
    /** Rendered texts by locale; every recipient's locale has one. */
    texts: z.record(z.string().min(2).max(35), TextSchema),
    data: z.record(z.string(), z.string()),
    urgent: z.boolean(),
    collapseKey: z.string().min(1).max(64).optional(),
    ttlSeconds: z.number().int().min(0).max(2_419_200).optional(),
    recipients: z
      .array(z.object({ notificationId: z.uuid(), userId: z.uuid(), locale: z.string().min(2).max(35) }))
      .min(1)
      .max(1000),
  })
  // A recipient without a text can never be sent: poison (dead at once), not a retry.
  .refine((p) => p.recipients.every((r) => Object.hasOwn(p.texts, r.locale)), {
    message: "every recipient's locale needs a text",
    path: ["texts"],
  });
export type PushChunkPayload = z.infer<typeof PushChunkPayloadSchema>;

/** What a PUSH_TOPIC event may carry: a chunk (recorded now) or one recipient (older events). */
export const PushEventPayloadSchema = z.union([PushChunkPayloadSchema, PushPayloadSchema]);
export type PushEventPayload = z.infer<typeof PushEventPayloadSchema>;

export const isPushChunk = (p: PushEventPayload): p is PushChunkPayload => "recipients" in p;

/** The event's recipients, each as the one-recipient payload it stands for. */
export function pushPayloadsOf(p: PushEventPayload): PushPayload[] {
  if (!isPushChunk(p)) return [p];
  return p.recipients.map((r) => {
    const text = p.texts[r.locale]!;
    return {
      notificationId: r.notificationId,
      userId: r.userId,
      buildingId: p.buildingId,
      type: p.type,
      title: text.title,
      body: text.body,
      locale: r.locale,
      data: { ...p.data, notificationId: r.notificationId },
      urgent: p.urgent,
      ...(p.collapseKey !== undefined ? { collapseKey: p.collapseKey } : {}),
      ...(p.ttlSeconds !== undefined ? { ttlSeconds: p.ttlSeconds } : {}),
    };
  });
}

export const SyncPokePayloadSchema = z.object({
  userId: z.uuid(),
  buildingId: z.uuid(),
});
export type SyncPokePayload = z.infer<typeof SyncPokePayloadSchema>;
