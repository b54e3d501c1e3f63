import { bigint, index, jsonb, pgTable, text, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { id, tstz } from "../../db/columns";

/**
 * Immutable audit trail (design property 32). Rows are chained per building (`scope`): each row's
 * hash covers its content and the previous row's hash, so an edit made behind the API breaks the
 * chain. A trigger in the migrations rejects UPDATE and DELETE.
 */
export const auditLogs = pgTable(
  "audit_logs",
  {
    id: id(),
    /** Chain scope: a building id, or "platform" for events outside any building. */
    scope: text("scope").notNull(),
    seq: bigint("seq", { mode: "number" }).notNull(),
    buildingId: uuid("building_id"),
    userId: uuid("user_id"),
    action: text("action").notNull(),
    entityType: text("entity_type").notNull(),
    entityId: text("entity_id").notNull(),
    changes: jsonb("changes"),
    ipAddress: text("ip_address").notNull().default(""),
    userAgent: text("user_agent").notNull().default(""),
    correlationId: text("correlation_id").notNull().default(""),
    timestamp: tstz("timestamp").notNull().defaultNow(),
    prevHash: text("prev_hash").notNull(),
    hash: text("hash").notNull(),
  },
  (t) => [
    uniqueIndex("audit_logs_scope_seq_uq").on(t.scope, t.seq),
    index("audit_logs_user_time_idx").on(t.userId, t.timestamp),
    index("audit_logs_entity_idx").on(t.entityType, t.entityId),
    index("audit_logs_time_idx").on(t.timestamp),
    index("audit_logs_building_time_idx").on(t.buildingId, t.timestamp),
  ],
);
