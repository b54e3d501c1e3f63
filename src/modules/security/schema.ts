import { boolean, index, jsonb, pgTable, text, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { createdAt, id, tstz } from "../../db/columns";

export const deviceFingerprints = pgTable(
  "device_fingerprints",
  {
    id: id(),
    userId: uuid("user_id").notNull(),
    fingerprint: text("fingerprint").notNull(),
    deviceInfo: jsonb("device_info").notNull(),
    trusted: boolean("trusted").notNull().default(false),
    lastSeenAt: tstz("last_seen_at").notNull().defaultNow(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("device_fingerprints_user_fp_uq").on(t.userId, t.fingerprint),
    index("device_fingerprints_user_seen_idx").on(t.userId, t.lastSeenAt),
  ],
);
