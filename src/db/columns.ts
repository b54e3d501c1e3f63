/** Column helpers shared by every table: uuid ids and timestamps with time zone. */
import { sql } from "drizzle-orm";
import { timestamp, uuid } from "drizzle-orm/pg-core";

export const id = () => uuid("id").primaryKey().defaultRandom();
/** Millisecond precision, like JS Dates: a value read back compares equal to the one written,
 * so cursors and HLC-free comparisons made from JS values match the stored rows exactly. */
export const tstz = (name: string) => timestamp(name, { withTimezone: true, mode: "date", precision: 3 });
export const createdAt = () => tstz("created_at").notNull().defaultNow();
export const updatedAt = () =>
  tstz("updated_at")
    .notNull()
    .defaultNow()
    .$onUpdate(() => sql`now()` as unknown as Date);
export const deletedAt = () => tstz("deleted_at");
export const timestamps = () => ({ createdAt: createdAt(), updatedAt: updatedAt() });
