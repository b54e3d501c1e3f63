import { z } from "@hono/zod-openapi";
import { CACHE_POLICIES } from "../../../http/cache-control";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { PaginationQuerySchema, paginatedSchema } from "../../../http/pagination";
import { verbContext } from "../../../verbs";
import { readApartmentPage } from "../cached-reads";
import { BuildingParams } from "../common";
import { ApartmentSchema } from "../schemas";

const ApartmentPageSchema = paginatedSchema(ApartmentSchema, "ApartmentPage");

const QuerySchema = PaginationQuerySchema.extend({
  floor: z.coerce
    .number()
    .int()
    .min(-20)
    .max(300)
    .optional()
    .openapi({ param: { name: "floor", in: "query" }, description: "Only apartments on this floor" }),
});

const route = defineRoute({
  method: "get",
  operationId: "listApartments",
  path: "/buildings/{buildingId}/apartments",
  tags: ["Apartments"],
  summary: "List the building's apartments (members), oldest first",
  access: "member",
  request: { params: BuildingParams, query: QuerySchema },
  responses: { 200: jsonContent(ApartmentPageSchema, "A page of apartments") },
});

export function registerListApartments(app: App) {
  app.openapi(route, async (c) => {
    // Tenant data: only the client may keep it, revalidating with its ETag (a 304 when unchanged).
    const { buildingId } = c.req.valid("param");
    const { floor, ...query } = c.req.valid("query");
    return c.json(await readApartmentPage(verbContext(c), buildingId, query, floor), 200, {
      "Cache-Control": CACHE_POLICIES.privateRevalidate,
    });
  });
}
