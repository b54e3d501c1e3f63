import { sql } from "drizzle-orm";
import { index, integer, jsonb, pgTable, text, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { createdAt, id, tstz } from "../../db/columns";

/**
 * Events written in the same transaction as the change; delivered after commit, at least once
 * (src/modules/outbox). A row is pending until `dispatched_at` (handler succeeded) or `dead_at`
 * (last attempt failed, unknown topic, transport gave up); `claimed_until` is the lease of the
 * consumer running it, so a consumer that dies mid-handler leaves the row due again once it lapses.
 */
export const outbox = pgTable(
  "outbox",
  {
    id: id(),
    buildingId: uuid("building_id"),
    topic: text("topic").notNull(),
    payload: jsonb("payload").notNull(),
    correlationId: text("correlation_id").notNull().default(""),
    /** Attempts started (counted at claim, so a handler that kills its process still runs out). */
    attempts: integer("attempts").notNull().default(0),
    availableAt: tstz("available_at").notNull().defaultNow(),
    claimedUntil: tstz("claimed_until"),
    dispatchedAt: tstz("dispatched_at"),
    deadAt: tstz("dead_at"),
    lastError: text("last_error"),
    /** A writer's key: a second event with the same topic and key is the first one. */
    idempotencyKey: text("idempotency_key"),
    /** When a remote transport (QStash) accepted the event; null: the cron sweep republishes it. */
    publishedAt: tstz("published_at"),
    createdAt: createdAt(),
  },
  (t) => [
    index("outbox_due_idx").on(t.availableAt).where(sql`${t.dispatchedAt} is null and ${t.deadAt} is null`),
    index("outbox_dead_idx").on(t.deadAt).where(sql`${t.deadAt} is not null`),
    index("outbox_dispatched_idx").on(t.dispatchedAt).where(sql`${t.dispatchedAt} is not null`),
    uniqueIndex("outbox_idempotency_key_idx")
      .on(t.topic, t.idempotencyKey)
      .where(sql`${t.idempotencyKey} is not null`),
  ],
);
