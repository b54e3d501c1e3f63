/**
 * Files housekeeping, run by the hosts' scheduled jobs (standalone: a timer; edge: the hourly
 * Cron Trigger). Storage and rows converge without anyone waiting on it:
 *  - uploads never completed (pending past their deadline): multipart aborted, object deleted, row
 *    deleted;
 *  - objects under quarantine/ older than UPLOAD_QUARANTINE_MAX_AGE_HOURS: deleted (processing
 *    copies out of quarantine within seconds; anything that old was abandoned or failed), and a
 *    file still `uploaded`/`processing` by then becomes `rejected` (reason `quarantine_expired`);
 *  - files whose parent is gone (request, comment or announcement deleted, by REST or sync) and
 *    rows marked deleted: their objects deleted, then the row.
 * The S3 lifecycle rule in the README does the first two on the bucket side too.
 */
import { and, eq, inArray, isNotNull, lt, or, sql } from "drizzle-orm";
import type { ObjectStorage } from "../../platform/storage";
import type { Services } from "../../services";
import { type AttachmentType, type StoredFileRow, storedFiles } from "./tables";
import { discardPending, objectKeysOf } from "./verbs";

const BATCH = 200;

export interface FilesHousekeepingSummary {
  expiredUploads: number;
  quarantineObjects: number;
  staleProcessing: number;
  orphanedFiles: number;
  failures: number;
}

export async function runFilesHousekeeping(
  services: Services,
  options: { now?: Date } = {},
): Promise<FilesHousekeepingSummary> {
  const summary: FilesHousekeepingSummary = {
    expiredUploads: 0,
    quarantineObjects: 0,
    staleProcessing: 0,
    orphanedFiles: 0,
    failures: 0,
  };
  const storage = services.storage;
  if (!storage) return summary;
  const db = services.database.db;
  const now = options.now ?? services.clock.now();
  const cutoff = new Date(now.getTime() - services.config.UPLOAD_QUARANTINE_MAX_AGE_HOURS * 3600_000);
  const fail = (what: string, err: unknown) => {
    summary.failures++;
    services.logger.warn(
      { event: "files_housekeeping_failed", what, err: String(err) },
      "files housekeeping step failed",
    );
  };

  // 1. Uploads never completed.
  const expired = await db
    .select()
    .from(storedFiles)
    .where(and(eq(storedFiles.status, "pending"), lt(storedFiles.expiresAt, now)))
    .limit(BATCH);
  for (const row of expired) {
    try {
      await discardPending(storage, row);
      await db.delete(storedFiles).where(and(eq(storedFiles.id, row.id), eq(storedFiles.status, "pending")));
      summary.expiredUploads++;
    } catch (err) {
      fail("expired_upload", err);
    }
  }

  // 2. Files stuck before `ready` past the quarantine age, then every old quarantined object.
  const stale = await db
    .update(storedFiles)
    .set({ status: "rejected", rejectionReason: "quarantine_expired", updatedAt: now })
    .where(and(inArray(storedFiles.status, ["uploaded", "processing"]), lt(storedFiles.uploadedAt, cutoff)))
    .returning({ id: storedFiles.id });
  summary.staleProcessing = stale.length;
  try {
    const old = await storage.list("quarantine/", { olderThan: cutoff });
    if (old.length) await storage.delete(old.map((o) => o.key));
    summary.quarantineObjects = old.length;
  } catch (err) {
    fail("quarantine", err);
  }

  // 3. Files of deleted parents, and rows marked deleted.
  const orphans = (await db
    .select()
    .from(storedFiles)
    .where(
      or(
        isNotNull(storedFiles.deletedAt),
        sql`(${storedFiles.attachedType} = 'maintenance_request' and not exists (
              select 1 from maintenance_requests r where r.id = ${storedFiles.attachedId} and r.deleted_at is null))`,
        sql`(${storedFiles.attachedType} = 'request_comment' and not exists (
              select 1 from request_comments c join maintenance_requests r on r.id = c.request_id
              where c.id = ${storedFiles.attachedId} and c.deleted_at is null and r.deleted_at is null))`,
        sql`(${storedFiles.attachedType} = 'announcement' and not exists (
              select 1 from announcements a where a.id = ${storedFiles.attachedId} and a.deleted_at is null))`,
      ),
    )
    .limit(BATCH)) as StoredFileRow[];
  for (const row of orphans) {
    try {
      await deleteFileObjects(storage, row);
      await db.delete(storedFiles).where(eq(storedFiles.id, row.id));
      summary.orphanedFiles++;
    } catch (err) {
      fail("orphan", err);
    }
  }

  const total =
    summary.expiredUploads + summary.quarantineObjects + summary.staleProcessing + summary.orphanedFiles;
  if (total || summary.failures)
    services.logger.info({ event: "files_housekeeping", ...summary }, "files housekeeping");
  return summary;
}

/** Deletes every object of a file (multipart leftovers included). */
export async function deleteFileObjects(storage: ObjectStorage, row: StoredFileRow): Promise<void> {
  if (row.status === "pending") await discardPending(storage, row);
  await storage.delete(objectKeysOf(row));
}

/**
 * Deletes the files (objects, then rows) of parents that were just deleted, for a delete route to
 * call after its commit. Best effort: what fails here, the housekeeping sweep deletes later.
 */
export async function purgeAttachmentsOf(
  services: Services,
  buildingId: string,
  type: AttachmentType,
  parentIds: readonly string[],
): Promise<number> {
  const storage = services.storage;
  if (!storage || !parentIds.length) return 0;
  const db = services.database.db;
  const rows = await db
    .select()
    .from(storedFiles)
    .where(
      and(
        eq(storedFiles.buildingId, buildingId),
        eq(storedFiles.attachedType, type),
        inArray(storedFiles.attachedId, [...parentIds]),
      ),
    )
    .catch((err) => {
      services.logger.warn(
        { event: "files_purge_failed", err: String(err) },
        "attachments not purged; housekeeping retries",
      );
      return [];
    });
  let purged = 0;
  for (const row of rows) {
    try {
      await deleteFileObjects(storage, row);
      await db.delete(storedFiles).where(eq(storedFiles.id, row.id));
      purged++;
    } catch (err) {
      services.logger.warn(
        { event: "files_purge_failed", fileId: row.id, err: String(err) },
        "attachment not purged; housekeeping retries",
      );
    }
  }
  return purged;
}
