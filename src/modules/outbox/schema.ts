import { index, integer, jsonb, pgTable, text, uuid } from "drizzle-orm/pg-core";
import { createdAt, id, tstz } from "../../db/columns";

/** Events written in the same transaction as the change; dispatched after commit, at least once. */
export const outbox = pgTable(
  "outbox",
  {
    id: id(),
    buildingId: uuid("building_id"),
    topic: text("topic").notNull(),
    payload: jsonb("payload").notNull(),
    correlationId: text("correlation_id").notNull().default(""),
    attempts: integer("attempts").notNull().default(0),
    availableAt: tstz("available_at").notNull().defaultNow(),
    dispatchedAt: tstz("dispatched_at"),
    lastError: text("last_error"),
    createdAt: createdAt(),
  },
  (t) => [index("outbox_pending_idx").on(t.dispatchedAt, t.availableAt)],
);
