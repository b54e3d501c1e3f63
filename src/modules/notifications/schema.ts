import { boolean, index, jsonb, pgTable, text, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { createdAt, id, timestamps, tstz } from "../../db/columns";

export const notificationTemplates = pgTable(
  "notification_templates",
  {
    id: id(),
    name: text("name").notNull(),
    /** Per-language title and body, e.g. { en: { title, body }, he: { title, body } }. */
    title: text("title").notNull(),
    body: text("body").notNull(),
    translations: jsonb("translations"),
    variables: text("variables").array().notNull().default([]),
    ...timestamps(),
  },
  (t) => [uniqueIndex("notification_templates_name_uq").on(t.name)],
);

export const notificationPreferences = pgTable(
  "notification_preferences",
  {
    id: id(),
    userId: uuid("user_id").notNull(),
    type: text("type").notNull(),
    enabled: boolean("enabled").notNull().default(true),
    channels: text("channels").array().notNull().default(["push"]),
  },
  (t) => [uniqueIndex("notification_preferences_user_type_uq").on(t.userId, t.type)],
);

export const notificationLogs = pgTable(
  "notification_logs",
  {
    id: id(),
    userId: uuid("user_id").notNull(),
    type: text("type").notNull(),
    title: text("title").notNull(),
    body: text("body").notNull(),
    /** sent | failed | pending */
    status: text("status").notNull(),
    /** fcm | apns | web-push | log */
    provider: text("provider").notNull(),
    deviceToken: text("device_token"),
    error: text("error"),
    attempts: jsonb("attempts"),
    sentAt: tstz("sent_at").notNull().defaultNow(),
    createdAt: createdAt(),
  },
  (t) => [
    index("notification_logs_user_sent_idx").on(t.userId, t.sentAt),
    index("notification_logs_status_idx").on(t.status),
  ],
);
