/** The announcement response shape, shared by the routes. */
import { z } from "@hono/zod-openapi";
import type { announcements } from "../../db/schema";
import { iso, rowTimes, Timestamp } from "../buildings/common";
import { AttachmentsField } from "../files/schemas";

export const ANNOUNCEMENT_PRIORITIES = ["normal", "important", "urgent"] as const;

export const AnnouncementSchema = z
  .object({
    id: z.uuid(),
    buildingId: z.uuid(),
    authorId: z.uuid(),
    title: z.string(),
    body: z.string(),
    priority: z.enum(ANNOUNCEMENT_PRIORITIES),
    publishedAt: Timestamp,
    syncVersion: z.number().int(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    deletedAt: Timestamp.nullable(),
    attachments: AttachmentsField,
  })
  .openapi("Announcement");

export function toAnnouncement(row: typeof announcements.$inferSelect): z.infer<typeof AnnouncementSchema> {
  return {
    id: row.id,
    buildingId: row.buildingId,
    authorId: row.authorId,
    title: row.title,
    body: row.body,
    priority: row.priority,
    publishedAt: iso(row.publishedAt),
    syncVersion: row.syncVersion,
    ...rowTimes(row),
  } as z.infer<typeof AnnouncementSchema>;
}
