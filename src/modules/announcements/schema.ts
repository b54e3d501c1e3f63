import { sql } from "drizzle-orm";
import { bigint, index, pgTable, text, uuid } from "drizzle-orm/pg-core";
import { deletedAt, id, syncClocks, timestamps, tombstonesIndex, tstz } from "../../db/columns";
import { buildings } from "../buildings/schema";
import { users } from "../identity/schema";

export const announcements = pgTable(
  "announcements",
  {
    id: id(),
    buildingId: uuid("building_id")
      .notNull()
      .references(() => buildings.id, { onDelete: "cascade" }),
    authorId: uuid("author_id")
      .notNull()
      .references(() => users.id),
    title: text("title").notNull(),
    body: text("body").notNull(),
    priority: text("priority", { enum: ["normal", "important", "urgent"] })
      .notNull()
      .default("normal"),
    publishedAt: tstz("published_at").notNull().defaultNow(),
    syncVersion: bigint("sync_version", { mode: "number" }).notNull().default(0),
    syncClocks: syncClocks(),
    ...timestamps(),
    deletedAt: deletedAt(),
  },
  (t) => [
    index("announcements_building_published_idx").on(t.buildingId, t.publishedAt),
    index("announcements_building_version_idx").on(t.buildingId, t.syncVersion),
    tombstonesIndex("announcements_tombstones_idx", t),
    // Scheduled announcements not yet given their publication version (sync/scheduled.ts): a
    // handful of rows, looked up every 30–60 s.
    index("announcements_due_idx")
      .on(t.publishedAt)
      .where(sql`${t.deletedAt} is null and ${t.updatedAt} < ${t.publishedAt}`),
  ],
);
