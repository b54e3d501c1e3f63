import { sql } from "drizzle-orm";
import { bigint, index, integer, pgTable, text, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { deletedAt, id, syncClocks, timestamps, tombstonesIndex } from "../../db/columns";
import { users } from "../identity/schema";

export const buildings = pgTable("buildings", {
  id: id(),
  name: text("name").notNull(),
  addressLine: text("address_line").notNull(),
  city: text("city").notNull(),
  country: text("country").notNull(),
  postalCode: text("postal_code"),
  timezone: text("timezone").notNull().default("UTC"),
  defaultLocale: text("default_locale").notNull().default("en"),
  currency: text("currency").notNull().default("USD"),
  /** The building's sync cursor: bumped under a row lock inside every writing transaction. */
  syncVersion: bigint("sync_version", { mode: "number" }).notNull().default(0),
  ...timestamps(),
  deletedAt: deletedAt(),
});

export const apartments = pgTable(
  "apartments",
  {
    id: id(),
    buildingId: uuid("building_id")
      .notNull()
      .references(() => buildings.id, { onDelete: "cascade" }),
    number: text("number").notNull(),
    floor: integer("floor"),
    areaSqm: integer("area_sqm"),
    rooms: integer("rooms"),
    syncVersion: bigint("sync_version", { mode: "number" }).notNull().default(0),
    syncClocks: syncClocks(),
    ...timestamps(),
    deletedAt: deletedAt(),
  },
  (t) => [
    uniqueIndex("apartments_building_number_uq")
      .on(t.buildingId, t.number)
      .where(sql`${t.deletedAt} is null`),
    index("apartments_building_version_idx").on(t.buildingId, t.syncVersion),
    tombstonesIndex("apartments_tombstones_idx", t),
  ],
);

/** A user's role in one building; residents belong to an apartment. */
export const memberships = pgTable(
  "memberships",
  {
    id: id(),
    buildingId: uuid("building_id")
      .notNull()
      .references(() => buildings.id, { onDelete: "cascade" }),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    apartmentId: uuid("apartment_id").references(() => apartments.id, { onDelete: "set null" }),
    role: text("role", { enum: ["manager", "resident"] }).notNull(),
    syncVersion: bigint("sync_version", { mode: "number" }).notNull().default(0),
    ...timestamps(),
    deletedAt: deletedAt(),
  },
  (t) => [
    uniqueIndex("memberships_building_user_uq").on(t.buildingId, t.userId).where(sql`${t.deletedAt} is null`),
    index("memberships_user_idx").on(t.userId),
    index("memberships_building_version_idx").on(t.buildingId, t.syncVersion),
    tombstonesIndex("memberships_tombstones_idx", t),
  ],
);
