/**
 * Sync's scheduled retention (`runSyncRetention`), run by the hosts on a timer (standalone: hourly
 * interval; edge: Cron Trigger):
 *  - tombstones: per building, the highest version up to which every tombstone is older than the
 *    retention goes to `purgeTombstones`, which deletes and raises the floor;
 *  - op records (sync_op_runs) older than their retention are deleted in chunks.
 */
import { sql } from "drizzle-orm";
import { queryRows } from "../../platform/db";
import type { Services } from "../../services";
import { ENTITIES } from "./entities";
import { purgeTombstones } from "./tombstones";

const DAY_MS = 24 * 3600 * 1000;

export interface PurgeJobOptions {
  /** Tombstones deleted longer ago than this go. Default: SYNC_TOMBSTONE_RETENTION_DAYS. */
  retentionDays?: number;
  /** Default: the services' clock. */
  now?: Date;
}

export interface PurgeJobSummary {
  /** Buildings whose purge ran (and committed). */
  buildings: number;
  /** Rows removed across them. */
  purged: number;
}

/**
 * Buildings with expired tombstones above their floor, each with its `upTo`: the highest expired
 * version below the building's first unexpired one. Deletion times follow versions only roughly
 * (`now()` is the transaction's start, versions are taken at the lock), so a younger tombstone
 * with a lower version caps `upTo` instead of being purged before its time. Tombstones at or under
 * the floor are left out: those still there were kept on purpose (a live row references them).
 */
async function expiredByBuilding(
  services: Pick<Services, "database">,
  cutoff: Date,
): Promise<Array<{ buildingId: string; upTo: number }>> {
  const tombstones = sql.join(
    // Every synced table keeps tombstones (see tombstones.ts).
    Object.values(ENTITIES).map(
      ({ table }) =>
        sql`select building_id, sync_version as v, deleted_at from ${table} where deleted_at is not null`,
    ),
    sql` union all `,
  );
  const rows = await queryRows<{ building_id: string; up_to: unknown }>(
    services.database.db,
    sql`
    with tombstones as (${tombstones}),
    pending as (
      select t.building_id, t.v, t.deleted_at < ${cutoff.toISOString()}::timestamptz as expired
      from tombstones t left join sync_tombstone_floors f on f.building_id = t.building_id
      where t.v > coalesce(f.floor_version, 0)),
    young as (select building_id, min(v) as first_young from pending where not expired group by building_id)
    select p.building_id, max(p.v) as up_to
    from pending p left join young y on y.building_id = p.building_id
    where p.expired and (y.first_young is null or p.v < y.first_young)
    group by p.building_id
    order by p.building_id`,
  );
  return rows.map((r) => ({ buildingId: r.building_id, upTo: Number(r.up_to) }));
}

/** The driver's own message (drizzle wraps it in "Failed query: …" with the SQL and params). */
const causeOf = (err: unknown) =>
  err instanceof Error && err.cause !== undefined ? String(err.cause) : undefined;

/**
 * Purges tombstones older than the retention in every building that has some. Buildings are
 * independent: one that fails is logged (`tombstone_purge_failed`) and the rest still run.
 */
export async function purgeExpiredTombstones(
  services: Pick<Services, "config" | "database" | "logger" | "clock">,
  options: PurgeJobOptions = {},
): Promise<PurgeJobSummary> {
  const retentionDays = options.retentionDays ?? services.config.SYNC_TOMBSTONE_RETENTION_DAYS;
  const now = options.now ?? services.clock.now();
  const cutoff = new Date(now.getTime() - retentionDays * DAY_MS);
  const summary: PurgeJobSummary = { buildings: 0, purged: 0 };
  let failed = 0;
  for (const { buildingId, upTo } of await expiredByBuilding(services, cutoff)) {
    try {
      summary.purged += await purgeTombstones(services.database.db, buildingId, upTo);
      summary.buildings++;
    } catch (err) {
      failed++;
      services.logger.warn(
        { event: "tombstone_purge_failed", buildingId, upTo, err: String(err), cause: causeOf(err) },
        "tombstone purge failed for a building",
      );
    }
  }
  services.logger.info(
    { event: "tombstones_purged", ...summary, failed, retentionDays, cutoff: cutoff.toISOString() },
    "tombstone purge done",
  );
  return summary;
}

/** Runs of op records deleted per statement (the BRIN index on created_at finds them). */
const OP_PURGE_CHUNK = 10_000;

/**
 * Deletes op records older than SYNC_OP_RETENTION_DAYS, a chunk of runs per statement so no
 * statement holds many row locks or runs long. Answers how many ops' records went.
 */
export async function purgeExpiredOpRecords(
  services: Pick<Services, "config" | "database" | "logger" | "clock">,
  options: { retentionDays?: number; now?: Date } = {},
): Promise<number> {
  const retentionDays = options.retentionDays ?? services.config.SYNC_OP_RETENTION_DAYS;
  const now = options.now ?? services.clock.now();
  const cutoff = new Date(now.getTime() - retentionDays * DAY_MS).toISOString();
  let purged = 0;
  for (;;) {
    const [res] = await queryRows<{ runs: number; ops: string | number }>(
      services.database.db,
      sql`
      with gone as (
        delete from sync_op_runs where ctid = any(array(
          select ctid from sync_op_runs where created_at < ${cutoff}::timestamptz limit ${OP_PURGE_CHUNK}))
        returning last_seq - first_seq + 1 as ops)
      select count(*)::int as runs, coalesce(sum(ops), 0) as ops from gone`,
    );
    purged += Number(res?.ops ?? 0);
    if (Number(res?.runs ?? 0) < OP_PURGE_CHUNK) break;
  }
  services.logger.info(
    { event: "sync_op_records_purged", purged, retentionDays, cutoff },
    "op record purge done",
  );
  return purged;
}

/**
 * The hosts' scheduled sync retention: tombstones, then op records. Each runs even if the other
 * fails (logged: `tombstone_purge_failed`, `op_record_purge_failed`).
 */
export async function runSyncRetention(
  services: Pick<Services, "config" | "database" | "logger" | "clock">,
): Promise<void> {
  await purgeExpiredTombstones(services).catch((err) =>
    services.logger.warn(
      { event: "tombstone_purge_failed", err: String(err), cause: causeOf(err) },
      "tombstone purge failed",
    ),
  );
  await purgeExpiredOpRecords(services).catch((err) =>
    services.logger.warn(
      { event: "op_record_purge_failed", err: String(err), cause: causeOf(err) },
      "op record purge failed",
    ),
  );
}
