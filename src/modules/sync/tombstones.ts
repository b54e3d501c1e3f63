/**
 * Tombstone purge: soft-deleted rows at or below a version are removed for good and the
 * building's floor rises to that version, so a client whose cursor is older gets 410
 * RESNAPSHOT_REQUIRED instead of silently missing deletions. Children go before parents, and a
 * deleted row that something live still references (a payment on a deleted apartment) is kept.
 */
import { sql } from "drizzle-orm";
import { type DbOrTx, queryRows } from "../../platform/db";

const ORDER: Array<{ table: string; guard?: string }> = [
  { table: "request_comments" },
  {
    table: "maintenance_requests",
    guard: "not exists (select 1 from request_comments c where c.request_id = t.id)",
  },
  { table: "announcements" },
  { table: "payments" },
  { table: "memberships" },
  {
    table: "apartments",
    guard:
      "not exists (select 1 from maintenance_requests r where r.apartment_id = t.id) and not exists (select 1 from payments p where p.apartment_id = t.id) and not exists (select 1 from memberships m where m.apartment_id = t.id)",
  },
];

/** Purges tombstones of `buildingId` with sync_version ≤ `upTo`; returns how many rows went. */
export async function purgeTombstones(db: DbOrTx, buildingId: string, upTo: number): Promise<number> {
  return db.transaction(async (tx) => {
    let purged = 0;
    for (const { table, guard } of ORDER) {
      const [res] = await queryRows<{ n: number }>(
        tx,
        sql`
        with gone as (
          delete from ${sql.identifier(table)} t
          where t.building_id = ${buildingId} and t.deleted_at is not null and t.sync_version <= ${upTo}
          ${guard ? sql.raw(`and ${guard}`) : sql``}
          returning t.id)
        select count(*)::int as n from gone`,
      );
      purged += Number(res?.n ?? 0);
    }
    await tx.execute(sql`
      insert into sync_tombstone_floors (building_id, floor_version) values (${buildingId}, ${upTo})
      on conflict (building_id) do update
      set floor_version = greatest(sync_tombstone_floors.floor_version, excluded.floor_version), purged_at = now()`);
    return purged;
  });
}
