import { CACHE_POLICIES } from "../../../http/cache-control";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { readBuilding } from "../cached-reads";
import { BuildingParams } from "../common";
import { BuildingSchema } from "../schemas";

const route = defineRoute({
  method: "get",
  operationId: "getBuilding",
  path: "/buildings/{buildingId}",
  tags: ["Buildings"],
  summary: "Read a building (members)",
  access: "member",
  request: { params: BuildingParams },
  responses: { 200: jsonContent(BuildingSchema, "The building") },
});

export function registerGetBuilding(app: App) {
  app.openapi(route, async (c) => {
    // Tenant data: only the client may keep it, revalidating with its ETag (a 304 when unchanged).
    const building = await readBuilding(verbContext(c), c.req.valid("param").buildingId);
    return c.json(building, 200, { "Cache-Control": CACHE_POLICIES.privateRevalidate });
  });
}
