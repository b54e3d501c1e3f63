import { CACHE_POLICIES } from "../../../http/cache-control";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { BuildingParams, uuidParam } from "../../buildings/common";
import { withAttachments } from "../../files/attachments";
import { MaintenanceRequestSchema, toRequest } from "../schemas";
import { getRequest } from "../verbs";

const route = defineRoute({
  method: "get",
  operationId: "getMaintenanceRequest",
  path: "/buildings/{buildingId}/requests/{requestId}",
  tags: ["Maintenance"],
  summary: "Read a request (managers; residents of its apartment)",
  access: "member",
  request: { params: BuildingParams.extend({ requestId: uuidParam("requestId") }) },
  responses: { 200: jsonContent(MaintenanceRequestSchema, "The request") },
});

export function registerGetRequest(app: App) {
  app.openapi(route, async (c) => {
    // Tenant data: only the client may keep it, revalidating with its ETag (a 304 when unchanged).
    const { buildingId, requestId } = c.req.valid("param");
    const ctx = verbContext(c);
    const row = toRequest(await getRequest({ ctx, buildingId, requestId }));
    const [withFiles] = await withAttachments(ctx, buildingId, "maintenance_request", [row]);
    return c.json(withFiles!, 200, { "Cache-Control": CACHE_POLICIES.privateRevalidate });
  });
}
