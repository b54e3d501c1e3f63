/** Column helpers shared by every table: uuid ids and timestamps with time zone. */
import { sql } from "drizzle-orm";
import { type AnyPgColumn, index, json, timestamp, uuid } from "drizzle-orm/pg-core";

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

/** A field's last-write-wins clock: the HLC that wrote it and the user (null: a REST write). */
export type FieldClock = { h: string; u: string | null };
/**
 * Sync's per-field clocks of a row that clients may edit offline (ADR 0002): `v` is the row's
 * sync_version when sync last wrote it (a row whose version moved on was written elsewhere since),
 * `f` the clock of each field (and `_deleted`), less those listed in `d`, which share the clock
 * `d` gives (see modules/sync/clocks.ts). Null until sync first writes the row.
 */
export type SyncClocks = {
  v: number;
  d?: { h: string; u: string | null; k: string[] };
  f: Record<string, FieldClock>;
};
// json, not jsonb: only JavaScript reads it, and storing json skips building a jsonb per write.
export const syncClocks = () => json("sync_clocks").$type<SyncClocks>();

/**
 * A synced table's tombstones (soft-deleted rows) alone, by building and version: what the sync
 * retention reads every hour and deletes from (src/modules/sync/purge-job.ts, tombstones.ts),
 * without scanning the live rows. Live rows are not in it, so their writes do not maintain it.
 */
export const tombstonesIndex = (
  name: string,
  t: { buildingId: AnyPgColumn; syncVersion: AnyPgColumn; deletedAt: AnyPgColumn },
) => index(name).on(t.buildingId, t.syncVersion, t.deletedAt).where(sql`${t.deletedAt} is not null`);
