import { CACHE_POLICIES } from "../../../http/cache-control";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { BuildingParams, uuidParam } from "../../buildings/common";
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
    c.header("Cache-Control", CACHE_POLICIES.privateRevalidate);
    const { buildingId, requestId } = c.req.valid("param");
    return c.json(toRequest(await getRequest({ ctx: verbContext(c), buildingId, requestId })), 200);
  });
}
