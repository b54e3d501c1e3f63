/**
 * The contract between deciding a notification (what to send to whom: events, templates,
 * preferences, quiet hours) and delivering it (which devices, which provider, the delivery log).
 * The deciding side records one outbox event per recipient user on PUSH_TOPIC with this payload;
 * the Node-only send handler (src/modules/notifications/push-handler.ts) delivers it to every
 * device of the user. Edge-safe: zod only.
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

export const SyncPokePayloadSchema = z.object({
  userId: z.uuid(),
  buildingId: z.uuid(),
});
export type SyncPokePayload = z.infer<typeof SyncPokePayloadSchema>;
