import { boolean, index, integer, jsonb, pgTable, text, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { id, timestamps, tstz } from "../../db/columns";

export const analyticsEvents = pgTable(
  "analytics_events",
  {
    id: id(),
    userId: uuid("user_id"),
    eventType: text("event_type").notNull(),
    properties: jsonb("properties").notNull().default({}),
    timestamp: tstz("timestamp").notNull().defaultNow(),
  },
  (t) => [
    index("analytics_events_user_time_idx").on(t.userId, t.timestamp),
    index("analytics_events_type_time_idx").on(t.eventType, t.timestamp),
    index("analytics_events_time_idx").on(t.timestamp),
  ],
);

export const featureUsage = pgTable(
  "feature_usage",
  {
    id: id(),
    userId: uuid("user_id").notNull(),
    feature: text("feature").notNull(),
    count: integer("count").notNull().default(1),
    lastUsedAt: tstz("last_used_at").notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("feature_usage_user_feature_uq").on(t.userId, t.feature),
    index("feature_usage_feature_last_idx").on(t.feature, t.lastUsedAt),
  ],
);

export const featureFlags = pgTable(
  "feature_flags",
  {
    id: id(),
    name: text("name").notNull(),
    enabled: boolean("enabled").notNull().default(false),
    rolloutPercentage: integer("rollout_percentage").notNull().default(0),
    variants: jsonb("variants"),
    ...timestamps(),
  },
  (t) => [uniqueIndex("feature_flags_name_uq").on(t.name)],
);
