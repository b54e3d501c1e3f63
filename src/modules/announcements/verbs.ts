/**
 * Announcement verbs: managers post, edit and soft-delete; members read, newest first. An
 * announcement may be scheduled (publishedAt in the future): residents see it from then on,
 * managers see it at once.
 */
import { and, eq, isNull, lte, type SQL } from "drizzle-orm";
import { announcements } from "../../db/schema";
import { ApiError } from "../../errors";
import type { PaginationQuery } from "../../http/pagination";
import { inTransaction, type VerbContext } from "../../verbs";
import { actorId, listPage, membershipOf, requireManager } from "../buildings/common";
import { recordDomainEvent } from "../events";
import { bumpBuildingVersion } from "../sync/version";

export type AnnouncementRow = typeof announcements.$inferSelect;
type Priority = AnnouncementRow["priority"];

export interface AnnouncementInput {
  title: string;
  body: string;
  priority?: Priority;
  publishedAt?: Date;
}

function visible(ctx: VerbContext, buildingId: string): SQL | undefined {
  const m = membershipOf(ctx, buildingId);
  const base = and(eq(announcements.buildingId, buildingId), isNull(announcements.deletedAt));
  return m.role === "manager" ? base : and(base, lte(announcements.publishedAt, ctx.now));
}

/** The announcement's part of its domain events. */
const eventData = (row: AnnouncementRow) => ({
  announcementId: row.id,
  title: row.title,
  priority: row.priority,
  authorId: row.authorId,
});

/**
 * Records `announcement.published` for a row that is visible to residents now. A scheduled one
 * (publishedAt ahead) gets it from the due sweep (sync/scheduled.ts) when it becomes visible.
 */
export async function recordPublished(tx: VerbContext["db"], row: AnnouncementRow, now: Date): Promise<void> {
  if (row.publishedAt > now) return;
  await recordDomainEvent(tx, {
    type: "announcement.published",
    buildingId: row.buildingId,
    actorId: row.authorId,
    data: { ...eventData(row), publishedAt: row.publishedAt.toISOString() },
  });
}

export async function findAnnouncement(ctx: VerbContext, buildingId: string, announcementId: string) {
  const [row] = await ctx.db
    .select()
    .from(announcements)
    .where(and(visible(ctx, buildingId), eq(announcements.id, announcementId)));
  if (!row) throw new ApiError("NOT_FOUND", `announcement ${announcementId} not found`);
  return row;
}

export async function postAnnouncement(args: {
  ctx: VerbContext;
  buildingId: string;
  input: AnnouncementInput;
}): Promise<AnnouncementRow> {
  const { ctx, buildingId, input } = args;
  requireManager(ctx, buildingId);
  return inTransaction(ctx, async (tx) => {
    const version = await bumpBuildingVersion(tx.db, buildingId);
    const [row] = await tx.db
      .insert(announcements)
      .values({
        ...input,
        publishedAt: input.publishedAt ?? tx.now,
        buildingId,
        authorId: actorId(tx),
        syncVersion: version,
      })
      .returning();
    await recordPublished(tx.db, row!, tx.now);
    return row!;
  });
}

export async function updateAnnouncement(args: {
  ctx: VerbContext;
  buildingId: string;
  announcementId: string;
  input: Partial<AnnouncementInput>;
  /** Runs on the current row inside the transaction (If-Match checks); throwing aborts the write. */
  precondition?: (before: AnnouncementRow) => void;
}): Promise<AnnouncementRow> {
  const { ctx, buildingId, announcementId, input, precondition } = args;
  requireManager(ctx, buildingId);
  return inTransaction(ctx, async (tx) => {
    const version = await bumpBuildingVersion(tx.db, buildingId);
    precondition?.(await findAnnouncement(tx, buildingId, announcementId));
    const [row] = await tx.db
      .update(announcements)
      .set({ ...input, syncVersion: version, updatedAt: tx.now })
      .where(and(eq(announcements.id, announcementId), eq(announcements.buildingId, buildingId)))
      .returning();
    // Residents (and subscribers) hear of edits to what they can see; an edit that moves a
    // scheduled announcement is heard of when the due sweep publishes it.
    if (row!.publishedAt <= tx.now) {
      await recordDomainEvent(tx.db, {
        type: "announcement.updated",
        buildingId,
        actorId: actorId(tx),
        data: eventData(row!),
      });
    }
    return row!;
  });
}

export async function deleteAnnouncement(args: {
  ctx: VerbContext;
  buildingId: string;
  announcementId: string;
}): Promise<AnnouncementRow> {
  const { ctx, buildingId, announcementId } = args;
  requireManager(ctx, buildingId);
  return inTransaction(ctx, async (tx) => {
    const version = await bumpBuildingVersion(tx.db, buildingId);
    await findAnnouncement(tx, buildingId, announcementId);
    const [row] = await tx.db
      .update(announcements)
      .set({ deletedAt: tx.now, syncVersion: version, updatedAt: tx.now })
      .where(and(eq(announcements.id, announcementId), eq(announcements.buildingId, buildingId)))
      .returning();
    await recordDomainEvent(tx.db, {
      type: "announcement.deleted",
      buildingId,
      actorId: actorId(tx),
      data: { announcementId },
    });
    return row!;
  });
}

export function getAnnouncement(args: { ctx: VerbContext; buildingId: string; announcementId: string }) {
  return findAnnouncement(args.ctx, args.buildingId, args.announcementId);
}

export async function listAnnouncements(args: {
  ctx: VerbContext;
  buildingId: string;
  query: PaginationQuery;
}) {
  const { ctx, buildingId, query } = args;
  const m = membershipOf(ctx, buildingId);
  return listPage<AnnouncementRow>(ctx, query, {
    table: announcements,
    where: visible(ctx, buildingId),
    // Residents' lists depend on the time (scheduled posts appear), managers' do not.
    scope: `announcements:${buildingId}:${m.role}`,
    sort: {
      column: announcements.publishedAt,
      id: announcements.id,
      direction: "desc",
      key: (r) => r.publishedAt,
    },
    fetch: (q) =>
      ctx.db
        .select()
        .from(announcements)
        .where(q.where)
        .orderBy(...q.orderBy)
        .limit(q.limit)
        .offset(q.offset),
  });
}
