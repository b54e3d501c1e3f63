/**
 * Webhook tables (issue 17). An endpoint belongs to a building (managers) or to the platform
 * (building_id null, platform administrators). A message is one domain event for one endpoint:
 * its `event_id` is the `webhook-id` every attempt, retry and replay carries, and its `body` the
 * exact bytes signed. Each HTTP try is an attempt row (status, first 1 KB of the answer).
 */
import { sql } from "drizzle-orm";
import { boolean, index, integer, pgTable, text, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { createdAt, id, tstz, updatedAt } from "../../db/columns";

export const webhookEndpoints = pgTable(
  "webhook_endpoints",
  {
    id: id(),
    /** null: a platform endpoint (every building's events). */
    buildingId: uuid("building_id"),
    url: text("url").notNull(),
    description: text("description").notNull().default(""),
    eventTypes: text("event_types").array().notNull(),
    active: boolean("active").notNull().default(true),
    /** Why the platform turned it off: gone (410), failing (5 days), or null. */
    disabledReason: text("disabled_reason"),
    secret: text("secret").notNull(),
    /** The secret before the last rotation, still signed with until it expires. */
    previousSecret: text("previous_secret"),
    previousSecretExpiresAt: tstz("previous_secret_expires_at"),
    /** First failure since the last success; null while healthy. */
    failingSince: tstz("failing_since"),
    createdBy: uuid("created_by").notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index("webhook_endpoints_building_idx").on(t.buildingId).where(sql`${t.active}`)],
);

export const webhookMessages = pgTable(
  "webhook_messages",
  {
    id: id(),
    endpointId: uuid("endpoint_id")
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: "cascade" }),
    buildingId: uuid("building_id"),
    /** The domain event id: the `webhook-id` header, the receiver's dedup key. */
    eventId: uuid("event_id").notNull(),
    eventType: text("event_type").notNull(),
    body: text("body").notNull(),
    /** pending | held (breaker open) | succeeded | failed */
    status: text("status").notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    lastStatusCode: integer("last_status_code"),
    lastError: text("last_error"),
    correlationId: text("correlation_id").notNull().default(""),
    deliveredAt: tstz("delivered_at"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("webhook_messages_endpoint_event_idx").on(t.endpointId, t.eventId),
    index("webhook_messages_endpoint_created_idx").on(t.endpointId, t.createdAt),
  ],
);

export const webhookAttempts = pgTable(
  "webhook_attempts",
  {
    id: id(),
    messageId: uuid("message_id")
      .notNull()
      .references(() => webhookMessages.id, { onDelete: "cascade" }),
    endpointId: uuid("endpoint_id").notNull(),
    attempt: integer("attempt").notNull(),
    statusCode: integer("status_code"),
    /** The first 1 KB of the answer. */
    responseBody: text("response_body"),
    error: text("error"),
    durationMs: integer("duration_ms").notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index("webhook_attempts_message_idx").on(t.messageId, t.createdAt),
    index("webhook_attempts_endpoint_idx").on(t.endpointId, t.createdAt),
  ],
);
