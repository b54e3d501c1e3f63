import { bigint, date, index, pgTable, text, uuid } from "drizzle-orm/pg-core";
import { deletedAt, id, timestamps, tombstonesIndex, tstz } from "../../db/columns";
import { apartments, buildings } from "../buildings/schema";
import { users } from "../identity/schema";

/** Dues (what an apartment owes) and payments (what it paid); amounts in minor units. */
export const payments = pgTable(
  "payments",
  {
    id: id(),
    buildingId: uuid("building_id")
      .notNull()
      .references(() => buildings.id, { onDelete: "cascade" }),
    apartmentId: uuid("apartment_id")
      .notNull()
      .references(() => apartments.id, { onDelete: "cascade" }),
    kind: text("kind", { enum: ["due", "payment"] }).notNull(),
    amountMinor: bigint("amount_minor", { mode: "number" }).notNull(),
    currency: text("currency").notNull(),
    description: text("description").notNull().default(""),
    dueDate: date("due_date"),
    paidAt: tstz("paid_at"),
    method: text("method"),
    recordedBy: uuid("recorded_by")
      .notNull()
      .references(() => users.id),
    syncVersion: bigint("sync_version", { mode: "number" }).notNull().default(0),
    ...timestamps(),
    deletedAt: deletedAt(),
  },
  (t) => [
    index("payments_apartment_idx").on(t.apartmentId, t.createdAt),
    index("payments_building_version_idx").on(t.buildingId, t.syncVersion),
    tombstonesIndex("payments_tombstones_idx", t),
  ],
);
