import { z } from "@hono/zod-openapi";
import { CACHE_POLICIES } from "../../../http/cache-control";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { PaginationQuerySchema, paginatedSchema } from "../../../http/pagination";
import { verbContext } from "../../../verbs";
import { BuildingParams } from "../../buildings/common";
import { withAttachments } from "../../files/attachments";
import { REQUEST_STATUSES } from "../schema";
import { MaintenanceRequestSchema, toRequest } from "../schemas";
import { listRequests } from "../verbs";

const RequestPageSchema = paginatedSchema(MaintenanceRequestSchema, "MaintenanceRequestPage");

const QuerySchema = PaginationQuerySchema.extend({
  status: z
    .enum(REQUEST_STATUSES)
    .optional()
    .openapi({ param: { name: "status", in: "query" } }),
  apartmentId: z
    .uuid()
    .optional()
    .openapi({ param: { name: "apartmentId", in: "query" } }),
});

const route = defineRoute({
  method: "get",
  operationId: "listMaintenanceRequests",
  path: "/buildings/{buildingId}/requests",
  tags: ["Maintenance"],
  summary: "List requests, newest first (managers: all; residents: their apartment's)",
  access: "member",
  request: { params: BuildingParams, query: QuerySchema },
  responses: { 200: jsonContent(RequestPageSchema, "A page of requests") },
});

export function registerListRequests(app: App) {
  app.openapi(route, async (c) => {
    // Tenant data: only the client may keep it, revalidating with its ETag (a 304 when unchanged).
    const { buildingId } = c.req.valid("param");
    const { status, apartmentId, ...query } = c.req.valid("query");
    const ctx = verbContext(c);
    const page = await listRequests({ ctx, buildingId, query, status, apartmentId });
    const data = await withAttachments(ctx, buildingId, "maintenance_request", page.data.map(toRequest));
    return c.json({ data, pagination: page.pagination }, 200, {
      "Cache-Control": CACHE_POLICIES.privateRevalidate,
    });
  });
}
