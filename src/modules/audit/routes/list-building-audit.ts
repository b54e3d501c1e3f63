import { z } from "@hono/zod-openapi";
import { boundedDateTime } from "../../../http/dates";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { PaginationQuerySchema, paginatedSchema } from "../../../http/pagination";
import { verbContext } from "../../../verbs";
import { AuditEntrySchema } from "../schemas";
import { listBuildingAudit } from "../verbs";

const q = (name: string, description: string) => ({ param: { name, in: "query" as const }, description });

const ParamsSchema = z.object({
  buildingId: z.uuid().openapi({ param: { name: "buildingId", in: "path" } }),
});

const QuerySchema = PaginationQuerySchema.extend({
  userId: z.uuid().optional().openapi(q("userId", "Only entries by this user")),
  action: z
    .string()
    .regex(/^[a-z_]+\.[a-z_]+$/, "an action looks like entity.verb")
    .max(64)
    .optional()
    .openapi(q("action", "Only this action, e.g. `membership.create`")),
  entityType: z
    .string()
    .regex(/^[a-z_]{1,64}$/, "an entity type is lower-case letters and underscores")
    .optional()
    .openapi(q("entityType", "Only entries about this entity type")),
  entityId: z
    .string()
    .regex(/^[A-Za-z0-9._:@-]{1,128}$/, "an entity id is at most 128 letters, digits or ._:@-")
    .optional()
    .openapi(q("entityId", "Only entries about this entity")),
  from: boundedDateTime().optional().openapi(q("from", "From this instant (inclusive, ISO 8601)")),
  to: boundedDateTime().optional().openapi(q("to", "Up to this instant (inclusive, ISO 8601)")),
}).strict();

const route = defineRoute({
  method: "get",
  operationId: "listBuildingAudit",
  path: "/buildings/{buildingId}/audit",
  tags: ["Audit"],
  summary: "The building's audit trail (managers)",
  description: "Newest first. Entries are immutable and hash-chained; filters combine with AND.",
  access: "manager",
  request: { params: ParamsSchema, query: QuerySchema },
  responses: { 200: jsonContent(paginatedSchema(AuditEntrySchema, "AuditPage"), "A page of audit entries") },
});

export function registerListBuildingAudit(app: App) {
  app.openapi(route, async (c) => {
    const { buildingId } = c.req.valid("param");
    const { page, limit, cursor, ...filters } = c.req.valid("query");
    const result = await listBuildingAudit(verbContext(c), buildingId, filters, { page, limit, cursor });
    return c.json(result, 200, { "Cache-Control": "private, no-cache" });
  });
}
