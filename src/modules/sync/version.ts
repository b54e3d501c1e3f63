/**
 * The one way a write advances a building's sync cursor. Called inside the writing transaction:
 * the UPDATE takes the row lock on the building's version row and holds it until commit, so
 * versions commit in order and a pull that read version N has seen every write ≤ N. Every write
 * path (REST routes, sync push, seed, admin) stamps its rows with the returned version.
 */
import { type SQL, sql } from "drizzle-orm";
import { ApiError } from "../../errors";
import { type DbOrTx, queryRows } from "../../platform/db";
import { currentCorrelationId } from "../outbox/record";
import { notePending, REALTIME_TOPICS } from "../realtime/publish";
import { actorOf } from "./access";
import type { SyncActor } from "./entities";

type Bumped = {
  sync_version: string | number;
  outbox_id: string;
  role?: SyncActor["role"] | null;
  apartment_id?: string | null;
};

/**
 * One statement, same transaction: the bump and an outbox row carrying the poke, so the room gets
 * `{ type: "poke", version }` after commit (or from the dispatcher if publishing fails). `member`
 * (a CTE named m, at most one row) guards the bump and rides along in the answer.
 */
async function bump(
  tx: DbOrTx,
  buildingId: string,
  member?: { cte: SQL; allow: SQL },
): Promise<Bumped | null> {
  const [row] = await queryRows<Bumped>(
    tx,
    sql`
    with ${member ? sql`m as (${member.cte}),` : sql``} v as (
      update buildings set sync_version = sync_version + 1 where id = ${buildingId}
        ${member ? sql`and deleted_at is null and (exists (select 1 from m) or ${member.allow})` : sql``}
      returning id, sync_version),
    o as (
      insert into outbox (building_id, topic, payload, correlation_id)
      select v.id, ${REALTIME_TOPICS.poke},
        jsonb_build_object('type', 'poke', 'buildingId', v.id, 'version', v.sync_version),
        ${currentCorrelationId()}
      from v returning id)
    select v.sync_version, o.id as outbox_id ${member ? sql`, m.role, m.apartment_id` : sql``}
    from v join o on true ${member ? sql`left join m on true` : sql``}`,
  );
  if (!row) return null;
  notePending(row.outbox_id, REALTIME_TOPICS.poke, {
    type: "poke",
    buildingId,
    version: Number(row.sync_version),
  });
  return row;
}

export async function bumpBuildingVersion(tx: DbOrTx, buildingId: string): Promise<number> {
  const row = await bump(tx, buildingId);
  if (!row) throw new ApiError("NOT_FOUND", "building not found");
  return Number(row.sync_version);
}

/**
 * The bump for a caller who must stand in the building (a member, or a platform admin acting as
 * its manager), with the caller's standing read in the same statement: one round trip instead of
 * a look-up and a bump. Null (and nothing bumped) when the caller has no standing there or the
 * building is gone.
 */
export async function bumpAsMember(
  tx: DbOrTx,
  buildingId: string,
  user: { userId: string; isAdmin: boolean },
): Promise<{ version: number; actor: SyncActor } | null> {
  const row = await bump(tx, buildingId, {
    cte: sql`select role, apartment_id from memberships
      where building_id = ${buildingId} and user_id = ${user.userId} and deleted_at is null`,
    allow: sql`${user.isAdmin}::boolean`,
  });
  if (!row) return null;
  return {
    version: Number(row.sync_version),
    actor: actorOf(user.userId, row.role ?? null, row.apartment_id),
  };
}
