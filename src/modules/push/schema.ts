import { sql } from "drizzle-orm";
import { index, integer, pgTable, text, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { id, timestamps, tstz } from "../../db/columns";
import { users } from "../identity/schema";

export const PUSH_PLATFORMS = ["ios", "android", "web"] as const;
export const PUSH_PROVIDERS = ["fcm", "apns", "webpush"] as const;
export type PushPlatform = (typeof PUSH_PLATFORMS)[number];
export type PushProviderName = (typeof PUSH_PROVIDERS)[number];

/**
 * One row per push token (a Web Push subscription's endpoint URL, an FCM registration token, an
 * APNs device token). Unique per provider: a token registered again moves to whoever registered it
 * last, so a phone handed to another resident never shows the previous one's notifications. A
 * device belongs to a user, never to a building: what a user receives is decided per notification.
 */
export const pushDevices = pgTable(
  "push_devices",
  {
    id: id(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    platform: text("platform", { enum: PUSH_PLATFORMS }).notNull(),
    provider: text("provider", { enum: PUSH_PROVIDERS }).notNull(),
    /** FCM registration token, APNs device token (hex), or the Web Push endpoint URL. */
    token: text("token").notNull(),
    /** Web Push only: the subscription's P-256 public key and auth secret (base64url). */
    p256dh: text("p256dh"),
    auth: text("auth"),
    appVersion: text("app_version"),
    /** BCP 47 tag the notifications to this device are rendered in. */
    locale: text("locale").notNull().default("en"),
    /** IANA zone of the device (quiet hours). */
    timezone: text("timezone").notNull().default("UTC"),
    ...timestamps(),
    lastSeenAt: tstz("last_seen_at").notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("push_devices_provider_token_uq").on(t.provider, t.token),
    index("push_devices_user_idx").on(t.userId),
  ],
);

export const PUSH_DELIVERY_STATUSES = ["queued", "sent", "failed"] as const;
export type PushDeliveryStatus = (typeof PUSH_DELIVERY_STATUSES)[number];

/**
 * The delivery log: one row per notification × device, queued → sent (the provider's message id)
 * | failed (the provider's error). A retry of the notification's outbox event skips devices
 * already `sent`. No foreign key to the device: a dead token is deleted and its failed row stays.
 */
export const pushDeliveries = pgTable(
  "push_deliveries",
  {
    id: id(),
    notificationId: uuid("notification_id").notNull(),
    deviceId: uuid("device_id").notNull(),
    userId: uuid("user_id").notNull(),
    provider: text("provider", { enum: PUSH_PROVIDERS }).notNull(),
    status: text("status", { enum: PUSH_DELIVERY_STATUSES }).notNull().default("queued"),
    providerMessageId: text("provider_message_id"),
    error: text("error"),
    /** Provider calls made for this device (a call refused by an open breaker is not one). */
    attempts: integer("attempts").notNull().default(0),
    ...timestamps(),
    sentAt: tstz("sent_at"),
  },
  (t) => [
    uniqueIndex("push_deliveries_notification_device_uq").on(t.notificationId, t.deviceId),
    index("push_deliveries_user_created_idx").on(t.userId, t.createdAt),
    index("push_deliveries_failed_idx").on(t.createdAt).where(sql`${t.status} = 'failed'`),
    // Retention (modules/push/retention.ts) deletes by age.
    index("push_deliveries_created_idx").on(t.createdAt),
  ],
);
