import { CACHE_POLICIES } from "../../../http/cache-control";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { PaginationQuerySchema, paginatedSchema } from "../../../http/pagination";
import { verbContext } from "../../../verbs";
import { listBuildings } from "../building-verbs";
import { BuildingSchema, toBuilding } from "../schemas";

const BuildingPageSchema = paginatedSchema(BuildingSchema, "BuildingPage");

const route = defineRoute({
  method: "get",
  operationId: "listBuildings",
  path: "/buildings",
  tags: ["Buildings"],
  summary: "The buildings I belong to (platform administrators: every building), oldest first",
  access: "user",
  request: { query: PaginationQuerySchema },
  responses: { 200: jsonContent(BuildingPageSchema, "A page of buildings") },
});

export function registerListBuildings(app: App) {
  app.openapi(route, async (c) => {
    // Tenant data: only the client may keep it, revalidating with its ETag (a 304 when unchanged).
    const page = await listBuildings({ ctx: verbContext(c), query: c.req.valid("query") });
    return c.json({ data: page.data.map(toBuilding), pagination: page.pagination }, 200, {
      "Cache-Control": CACHE_POLICIES.privateRevalidate,
    });
  });
}
