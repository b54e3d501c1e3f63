/**
 * The one way a write advances a building's sync cursor. Called inside the writing transaction:
 * the UPDATE takes the row lock on the building's version row and holds it until commit, so
 * versions commit in order and a pull that read version N has seen every write ≤ N. Every write
 * path (REST routes, sync push, seed, admin) stamps its rows with the returned version.
 */
import { sql } from "drizzle-orm";
import { ApiError } from "../../http/errors";
import type { DbOrTx } from "../../platform/db";
import { notePending, outboxCorrelationId, REALTIME_TOPICS } from "../realtime/publish";

export async function bumpBuildingVersion(tx: DbOrTx, buildingId: string): Promise<number> {
  // One statement, same transaction: the bump and an outbox row carrying the poke, so the room
  // gets `{ type: "poke", version }` after commit (or from the dispatcher if publishing fails).
  const result = (await tx.execute(sql`
    with v as (
      update buildings set sync_version = sync_version + 1 where id = ${buildingId}
      returning id, sync_version),
    o as (
      insert into outbox (building_id, topic, payload, correlation_id)
      select v.id, ${REALTIME_TOPICS.poke},
        jsonb_build_object('type', 'poke', 'buildingId', v.id, 'version', v.sync_version),
        ${outboxCorrelationId()}
      from v returning id)
    select v.sync_version, o.id as outbox_id from v, o`)) as unknown as {
    rows: Array<{ sync_version: string | number; outbox_id: string }>;
  };
  const row = result.rows[0];
  if (!row) throw new ApiError("NOT_FOUND", "building not found");
  const version = Number(row.sync_version);
  notePending(row.outbox_id, { type: "poke", buildingId, version });
  return version;
}
