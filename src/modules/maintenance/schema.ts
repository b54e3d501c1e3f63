import { bigint, index, pgTable, text, uuid } from "drizzle-orm/pg-core";
import { deletedAt, id, syncClocks, timestamps, tombstonesIndex } from "../../db/columns";
import { apartments, buildings } from "../buildings/schema";
import { users } from "../identity/schema";

export const REQUEST_STATUSES = ["open", "in_progress", "resolved", "rejected"] as const;

export const maintenanceRequests = pgTable(
  "maintenance_requests",
  {
    id: id(),
    buildingId: uuid("building_id")
      .notNull()
      .references(() => buildings.id, { onDelete: "cascade" }),
    apartmentId: uuid("apartment_id")
      .notNull()
      .references(() => apartments.id, { onDelete: "cascade" }),
    openedBy: uuid("opened_by")
      .notNull()
      .references(() => users.id),
    assignedTo: uuid("assigned_to").references(() => users.id),
    title: text("title").notNull(),
    description: text("description").notNull().default(""),
    category: text("category").notNull().default("general"),
    priority: text("priority", { enum: ["low", "normal", "high", "urgent"] })
      .notNull()
      .default("normal"),
    status: text("status", { enum: REQUEST_STATUSES }).notNull().default("open"),
    syncVersion: bigint("sync_version", { mode: "number" }).notNull().default(0),
    syncClocks: syncClocks(),
    ...timestamps(),
    deletedAt: deletedAt(),
  },
  (t) => [
    index("maintenance_requests_building_status_idx").on(t.buildingId, t.status),
    index("maintenance_requests_apartment_idx").on(t.apartmentId),
    index("maintenance_requests_building_version_idx").on(t.buildingId, t.syncVersion),
    tombstonesIndex("maintenance_requests_tombstones_idx", t),
  ],
);

export const requestComments = pgTable(
  "request_comments",
  {
    id: id(),
    buildingId: uuid("building_id")
      .notNull()
      .references(() => buildings.id, { onDelete: "cascade" }),
    requestId: uuid("request_id")
      .notNull()
      .references(() => maintenanceRequests.id, { onDelete: "cascade" }),
    authorId: uuid("author_id")
      .notNull()
      .references(() => users.id),
    body: text("body").notNull(),
    syncVersion: bigint("sync_version", { mode: "number" }).notNull().default(0),
    syncClocks: syncClocks(),
    ...timestamps(),
    deletedAt: deletedAt(),
  },
  (t) => [
    index("request_comments_request_idx").on(t.requestId, t.createdAt),
    index("request_comments_building_version_idx").on(t.buildingId, t.syncVersion),
    tombstonesIndex("request_comments_tombstones_idx", t),
  ],
);
