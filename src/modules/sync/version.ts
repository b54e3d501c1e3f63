/**
 * The one way a write advances a building's sync cursor. Called inside the writing transaction:
 * the UPDATE takes the row lock on the building's version row and holds it until commit, so
 * versions commit in order and a pull that read version N has seen every write ≤ N. Every write
 * path (REST routes, sync push, seed, admin) stamps its rows with the returned version.
 */
import { sql } from "drizzle-orm";
import { ApiError } from "../../http/errors";
import type { DbOrTx } from "../../platform/db";
import { recordPoke } from "../realtime/publish";

export async function bumpBuildingVersion(tx: DbOrTx, buildingId: string): Promise<number> {
  const result = (await tx.execute(
    sql`update buildings set sync_version = sync_version + 1 where id = ${buildingId} returning sync_version`,
  )) as unknown as { rows: Array<{ sync_version: string | number }> };
  const row = result.rows[0];
  if (!row) throw new ApiError("NOT_FOUND", "building not found");
  const version = Number(row.sync_version);
  // Same transaction: an outbox row, so the room gets a poke after commit (or from the dispatcher).
  await recordPoke(tx, buildingId, version);
  return version;
}
