/** Response shapes of maintenance requests and their comments, shared by the routes. */
import { z } from "@hono/zod-openapi";
import type { maintenanceRequests, requestComments } from "../../db/schema";
import { rowTimes, Timestamp } from "../buildings/common";
import { AttachmentsField } from "../files/schemas";
import { REQUEST_STATUSES } from "./schema";

export const PRIORITIES = ["low", "normal", "high", "urgent"] as const;

export const MaintenanceRequestSchema = z
  .object({
    id: z.uuid(),
    buildingId: z.uuid(),
    apartmentId: z.uuid(),
    openedBy: z.uuid(),
    assignedTo: z.uuid().nullable(),
    title: z.string(),
    description: z.string(),
    category: z.string(),
    priority: z.enum(PRIORITIES),
    status: z.enum(REQUEST_STATUSES),
    syncVersion: z.number().int(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    deletedAt: Timestamp.nullable(),
    attachments: AttachmentsField,
  })
  .openapi("MaintenanceRequest");

export function toRequest(
  row: typeof maintenanceRequests.$inferSelect,
): z.infer<typeof MaintenanceRequestSchema> {
  return {
    id: row.id,
    buildingId: row.buildingId,
    apartmentId: row.apartmentId,
    openedBy: row.openedBy,
    assignedTo: row.assignedTo,
    title: row.title,
    description: row.description,
    category: row.category,
    priority: row.priority,
    status: row.status,
    syncVersion: row.syncVersion,
    ...rowTimes(row),
  } as z.infer<typeof MaintenanceRequestSchema>;
}

export const RequestCommentSchema = z
  .object({
    id: z.uuid(),
    buildingId: z.uuid(),
    requestId: z.uuid(),
    authorId: z.uuid(),
    body: z.string(),
    syncVersion: z.number().int(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    deletedAt: Timestamp.nullable(),
    attachments: AttachmentsField,
  })
  .openapi("RequestComment");

export function toComment(row: typeof requestComments.$inferSelect): z.infer<typeof RequestCommentSchema> {
  return {
    id: row.id,
    buildingId: row.buildingId,
    requestId: row.requestId,
    authorId: row.authorId,
    body: row.body,
    syncVersion: row.syncVersion,
    ...rowTimes(row),
  } as z.infer<typeof RequestCommentSchema>;
}
