/**
 * Scheduled announcements (publishedAt in the future) are hidden from residents until then, over
 * REST and sync alike. They become visible without any write, so nothing would move their
 * version, and a resident whose cursor passed the version they were written at would never
 * receive them. `publishDueAnnouncements` gives every announcement that became due a new version
 * of its building (with the poke, as any write): the hosts run it on a timer (standalone: every
 * 30 s; edge: a one-minute Cron Trigger), so residents get it in their next delta within a
 * minute of publishedAt.
 *
 * "Due" is read off the row itself, whoever wrote it: live, published by now, and last written
 * before its publication (`updated_at < published_at`, a partial index keeps that set small).
 * The job's write stamps updated_at with its own time, which takes the row out of the set.
 */
import { sql } from "drizzle-orm";
import { announcements } from "../../db/schema";
import { queryRows } from "../../platform/db";
import type { Services } from "../../services";
import type { AnnouncementRow } from "../announcements/verbs";
import { recordPublished } from "../announcements/verbs";
import { publishAfterCommit } from "../realtime/publish";
import { packClocks } from "./clocks";
import { materializeFloor } from "./persist";
import { bumpBuildingVersion } from "./version";
import { loadWorkingSet } from "./working-set";

/** Announcements looked up per statement (a backlog after downtime takes a few rounds). */
const BATCH = 500;
/** Rounds per run at most; whatever is left goes next run. */
const MAX_ROUNDS = 20;

export interface PublishDueSummary {
  /** Buildings whose version moved. */
  buildings: number;
  /** Announcements given a new version. */
  announcements: number;
}

/**
 * Gives each announcement whose publishedAt has passed since it was last written a new version of
 * its building, one transaction per building. Buildings are independent: one that fails is logged
 * (`scheduled_publish_failed`) and retried next run; the rest still go.
 */
export async function publishDueAnnouncements(
  services: Services,
  options: { now?: Date } = {},
): Promise<PublishDueSummary> {
  const now = options.now ?? services.clock.now();
  const db = services.database.db;
  const summary: PublishDueSummary = { buildings: 0, announcements: 0 };
  const failed = new Set<string>();
  for (let round = 0; round < MAX_ROUNDS; round++) {
    // The same predicate as the partial index announcements_due_idx, so the index serves it.
    const due = await queryRows<{ id: string; building_id: string }>(
      db,
      sql`select id, building_id from announcements
          where deleted_at is null and updated_at < published_at and published_at <= ${now.toISOString()}::timestamptz
          order by published_at limit ${BATCH}`,
    );
    const byBuilding = new Map<string, Set<string>>();
    for (const r of due) {
      if (failed.has(r.building_id)) continue;
      byBuilding.set(r.building_id, (byBuilding.get(r.building_id) ?? new Set()).add(r.id));
    }
    for (const [buildingId, ids] of byBuilding) {
      try {
        const n = await publishInBuilding(services, buildingId, ids, now);
        if (n) {
          summary.buildings++;
          summary.announcements += n;
        }
      } catch (err) {
        failed.add(buildingId);
        services.logger.warn(
          { event: "scheduled_publish_failed", buildingId, err: String(err) },
          "scheduled announcements not published for a building; retried next run",
        );
      }
    }
    if (due.length < BATCH || byBuilding.size === 0) break;
  }
  if (summary.announcements)
    services.logger.info({ event: "scheduled_published", ...summary }, "scheduled announcements published");
  return summary;
}

async function publishInBuilding(services: Services, buildingId: string, ids: Set<string>, now: Date) {
  return publishAfterCommit(services, () =>
    services.database.db.transaction(async (tx) => {
      // The building's lock first, as every writer takes it: under it the rows cannot change, and
      // a concurrent run that published them already is seen (nothing left, nothing bumped).
      await tx.execute(sql`select 1 from buildings where id = ${buildingId} for update`);
      const work = await loadWorkingSet(tx, { ids: new Map([["announcements", ids]]) });
      const rows = [...work.values()].filter((w) => {
        const r = w.row!;
        return !r.deletedAt && r.updatedAt < r.publishedAt && r.publishedAt <= now;
      });
      if (rows.length === 0) return 0;
      const version = await bumpBuildingVersion(tx, buildingId);
      for (const w of rows) {
        // Its clocks stay what they were: a field last written by REST keeps that write's time
        // (materialized, as a sync write does), not the job's, so last-write-wins is unchanged.
        materializeFloor(w);
        await tx
          .update(announcements)
          .set({ syncVersion: version, syncClocks: packClocks(version, w.clocks), updatedAt: now })
          .where(sql`${announcements.id} = ${w.id}`);
        // Subscribers (notifications, webhooks) and the room hear of it now, when residents see it.
        await recordPublished(tx, w.row as AnnouncementRow, now);
      }
      return rows.length;
    }),
  );
}
