/**
 * The caller's standing in each building a sync request names, read in one query: role and
 * apartment (platform admins act as managers), the version of their own membership row (a change
 * there changes what they may see), the building's head version and its tombstone floor.
 */
import { sql } from "drizzle-orm";
import { type DbOrTx, queryRows } from "../../platform/db";
import type { SyncActor } from "./entities";

export interface BuildingAccess {
  buildingId: string;
  actor: SyncActor;
  head: number;
  floor: number;
  /** sync_version of the caller's membership row (null for platform admins acting as managers). */
  membershipVersion: number | null;
  /** Newest client clock the building accepted. */
  maxHlc: string | null;
}

type Raw = {
  id: string;
  head: string | number;
  floor: string | number | null;
  role: "manager" | "resident" | null;
  apartment_id: string | null;
  mversion: string | number | null;
  max_hlc: string | null;
};

/** The caller as sync sees them in a building: their membership's role, or (no membership: a platform admin) its manager. */
export function actorOf(
  userId: string,
  role: SyncActor["role"] | null,
  apartmentId: string | null | undefined,
): SyncActor {
  return role
    ? { userId, role, apartmentId: apartmentId ?? null }
    : { userId, role: "manager", apartmentId: null };
}

export async function loadAccess(
  db: DbOrTx,
  user: { userId: string; isAdmin: boolean },
  buildingIds: string[],
): Promise<Map<string, BuildingAccess>> {
  const out = new Map<string, BuildingAccess>();
  if (buildingIds.length === 0) return out;
  const ids = sql.join(
    buildingIds.map((id) => sql`${id}::uuid`),
    sql`, `,
  );
  const rows = await queryRows<Raw>(
    db,
    sql`
    select b.id, b.sync_version as head, f.floor_version as floor, f.max_hlc,
           m.role, m.apartment_id, m.sync_version as mversion
    from buildings b
    left join memberships m on m.building_id = b.id and m.user_id = ${user.userId} and m.deleted_at is null
    left join sync_tombstone_floors f on f.building_id = b.id
    where b.id in (${ids}) and b.deleted_at is null`,
  );
  for (const r of rows) {
    if (!r.role && !user.isAdmin) continue;
    out.set(r.id, {
      buildingId: r.id,
      actor: actorOf(user.userId, r.role, r.apartment_id),
      head: Number(r.head),
      floor: r.floor === null ? 0 : Number(r.floor),
      membershipVersion: r.role ? Number(r.mversion) : null,
      maxHlc: r.max_hlc,
    });
  }
  return out;
}
