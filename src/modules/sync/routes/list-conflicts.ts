import { z } from "@hono/zod-openapi";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { PaginationQuerySchema, paginatedSchema } from "../../../http/pagination";
import { verbContext } from "../../../verbs";
import { type ConflictRow, listConflicts } from "../conflicts";

const SideSchema = z.object({
  value: z.unknown().openapi({ description: "The value (an update's fields for row-level conflicts)" }),
  hlc: z.string().nullable(),
  userId: z.string().nullable(),
});

export const ConflictSchema = z
  .object({
    id: z.uuid(),
    buildingId: z.uuid(),
    entity: z.string(),
    rowId: z.uuid(),
    field: z
      .string()
      .nullable()
      .openapi({ description: "null when the whole op lost (delete wins, parent deleted)" }),
    kind: z.enum(["lww", "unresolvable"]),
    rule: z
      .string()
      .openapi({ example: "field-lww", description: "field-lww | delete-wins | parent-deleted" }),
    opId: z.string(),
    deviceId: z.string(),
    incoming: SideSchema.openapi({ description: "Your edit, which lost" }),
    current: SideSchema.openapi({ description: "What the server kept" }),
    createdAt: z.string(),
  })
  .openapi("SyncConflict");

const route = defineRoute({
  method: "get",
  operationId: "listSyncConflicts",
  path: "/sync/conflicts",
  tags: ["Sync"],
  summary: "List your edits that lost a sync conflict or could not be applied (newest first)",
  access: "user",
  request: { query: PaginationQuerySchema },
  responses: { 200: jsonContent(paginatedSchema(ConflictSchema, "SyncConflictPage"), "A page of conflicts") },
});

const toConflict = (r: ConflictRow): z.infer<typeof ConflictSchema> => ({
  id: r.id,
  buildingId: r.buildingId,
  entity: r.entity,
  rowId: r.rowId,
  field: r.field,
  kind: r.kind,
  rule: r.rule,
  opId: r.opId,
  deviceId: r.deviceId,
  incoming: { value: r.incomingValue, hlc: r.incomingHlc, userId: r.userId },
  current: { value: r.currentValue, hlc: r.currentHlc, userId: r.currentUserId },
  createdAt: r.createdAt.toISOString(),
});

export function registerListConflicts(app: App) {
  app.openapi(route, async (c) => {
    const page = await listConflicts(verbContext(c), c.req.valid("query"));
    return c.json({ data: page.data.map(toConflict), pagination: page.pagination }, 200);
  });
}
