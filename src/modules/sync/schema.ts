import { index, integer, pgTable, text, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { id, tstz } from "../../db/columns";

/** Per user, device and entity: last pull, last push and the pending ops the client reports. */
export const syncState = pgTable(
  "sync_state",
  {
    id: id(),
    userId: uuid("user_id").notNull(),
    deviceId: text("device_id").notNull(),
    entityType: text("entity_type").notNull(),
    lastSyncAt: tstz("last_sync_at").notNull(),
    lastPushAt: tstz("last_push_at"),
    pendingOps: integer("pending_ops").notNull().default(0),
  },
  (t) => [
    uniqueIndex("sync_state_user_device_entity_uq").on(t.userId, t.deviceId, t.entityType),
    index("sync_state_user_last_idx").on(t.userId, t.lastSyncAt),
  ],
);
