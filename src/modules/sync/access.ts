/**
 * The caller's standing in each building a sync request names, read in one query: role and
 * apartment (platform admins act as managers), the version of their own membership row (a change
 * there changes what they may see), the building's head version and its tombstone floor.
 */
import { sql } from "drizzle-orm";
import type { SyncEntity } from "../../client/sync/protocol";
import type { DbOrTx } from "../../platform/db";
import { ENTITIES, type SyncActor } from "./entities";

export interface BuildingAccess {
  buildingId: string;
  actor: SyncActor;
  head: number;
  floor: number;
  /** sync_version of the caller's membership row (null for platform admins acting as managers). */
  membershipVersion: number | null;
  /** Newest client clock the building accepted. */
  maxHlc: string | null;
  /**
   * Highest sync_version per entity table (absent: no rows), read in the same statement as the
   * head, so a pull can skip tables with nothing above its cursor (only with `tableHeads`).
   */
  tableHeads?: Partial<Record<SyncEntity, number | null>>;
}

type Raw = {
  id: string;
  head: string | number;
  floor: string | number | null;
  role: "manager" | "resident" | null;
  apartment_id: string | null;
  mversion: string | number | null;
  max_hlc: string | null;
  tops?: Partial<Record<SyncEntity, number | string | null>>;
};

// Index-only probes of each (building_id, sync_version) index; built once per process.
const TABLE_HEADS = sql.join(
  Object.values(ENTITIES).map(
    (def) =>
      sql`${def.name}::text, (select max(${def.table.syncVersion}) from ${def.table} where ${def.table.buildingId} = b.id)`,
  ),
  sql`, `,
);

export async function loadAccess(
  db: DbOrTx,
  user: { userId: string; isAdmin: boolean },
  buildingIds: string[],
  options: { tableHeads?: boolean } = {},
): Promise<Map<string, BuildingAccess>> {
  const out = new Map<string, BuildingAccess>();
  if (buildingIds.length === 0) return out;
  const ids = sql.join(
    buildingIds.map((id) => sql`${id}::uuid`),
    sql`, `,
  );
  const result = (await db.execute(sql`
    select b.id, b.sync_version as head, f.floor_version as floor, f.max_hlc,
           m.role, m.apartment_id, m.sync_version as mversion
           ${options.tableHeads ? sql`, json_build_object(${TABLE_HEADS}) as tops` : sql``}
    from buildings b
    left join memberships m on m.building_id = b.id and m.user_id = ${user.userId} and m.deleted_at is null
    left join sync_tombstone_floors f on f.building_id = b.id
    where b.id in (${ids}) and b.deleted_at is null`)) as unknown as { rows: Raw[] };
  for (const r of result.rows) {
    if (!r.role && !user.isAdmin) continue;
    out.set(r.id, {
      buildingId: r.id,
      actor: r.role
        ? { userId: user.userId, role: r.role, apartmentId: r.apartment_id }
        : { userId: user.userId, role: "manager", apartmentId: null },
      head: Number(r.head),
      floor: r.floor === null ? 0 : Number(r.floor),
      membershipVersion: r.role ? Number(r.mversion) : null,
      maxHlc: r.max_hlc,
      ...(r.tops
        ? {
            tableHeads: Object.fromEntries(
              Object.entries(r.tops).map(([e, v]) => [e, v === null ? null : Number(v)]),
            ),
          }
        : {}),
    });
  }
  return out;
}
