/**
 * What residents were told and how they want to be told: the in-app inbox (one row per user and
 * event), per-type per-channel preferences (absent row = the type's default), quiet hours, and the
 * marker that a due payment's notice was recorded (so the sweep records it once per payment).
 */
import { sql } from "drizzle-orm";
import {
  boolean,
  date,
  index,
  jsonb,
  pgTable,
  primaryKey,
  smallint,
  text,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { createdAt, tstz } from "../../db/columns";
import { users } from "../identity/schema";
import { payments } from "../payments/schema";

export const inboxNotifications = pgTable(
  "inbox_notifications",
  {
    /** The notification id (derived from event and user, so a retried run writes the same row). */
    id: uuid("id").primaryKey(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    buildingId: uuid("building_id"),
    /** The domain event (or notify call) it came from. */
    eventId: uuid("event_id").notNull(),
    type: text("type").notNull(),
    title: text("title").notNull(),
    body: text("body").notNull(),
    locale: text("locale").notNull(),
    data: jsonb("data").$type<Record<string, string>>().notNull(),
    urgent: boolean("urgent").notNull().default(false),
    readAt: tstz("read_at"),
    createdAt: createdAt(),
  },
  (t) => [
    index("inbox_notifications_user_created_idx").on(t.userId, t.createdAt, t.id),
    index("inbox_notifications_user_unread_idx").on(t.userId).where(sql`${t.readAt} is null`),
    uniqueIndex("inbox_notifications_user_event_uq").on(t.userId, t.eventId),
  ],
);

export const notificationChannelPrefs = pgTable(
  "notification_channel_prefs",
  {
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    type: text("type").notNull(),
    /** push | in_app */
    channel: text("channel").notNull(),
    enabled: boolean("enabled").notNull(),
    updatedAt: tstz("updated_at").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.type, t.channel] })],
);

export const notificationQuietHours = pgTable("notification_quiet_hours", {
  userId: uuid("user_id")
    .primaryKey()
    .references(() => users.id, { onDelete: "cascade" }),
  /** Minutes after local midnight; start > end wraps midnight (22:00 → 07:00). */
  startMinute: smallint("start_minute").notNull(),
  endMinute: smallint("end_minute").notNull(),
  updatedAt: tstz("updated_at").notNull().defaultNow(),
});

export const paymentDueNotices = pgTable("payment_due_notices", {
  paymentId: uuid("payment_id")
    .primaryKey()
    .references(() => payments.id, { onDelete: "cascade" }),
  dueDate: date("due_date").notNull(),
  recordedAt: tstz("recorded_at").notNull().defaultNow(),
});
