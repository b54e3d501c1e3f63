import { CACHE_POLICIES } from "../../../http/cache-control";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { getApartment } from "../apartment-verbs";
import { BuildingParams, uuidParam } from "../common";
import { ApartmentSchema, toApartment } from "../schemas";

const route = defineRoute({
  method: "get",
  operationId: "getApartment",
  path: "/buildings/{buildingId}/apartments/{apartmentId}",
  tags: ["Apartments"],
  summary: "Read an apartment (members; residents see area and rooms of their own apartment only)",
  access: "member",
  request: { params: BuildingParams.extend({ apartmentId: uuidParam("apartmentId") }) },
  responses: { 200: jsonContent(ApartmentSchema, "The apartment") },
});

export function registerGetApartment(app: App) {
  app.openapi(route, async (c) => {
    // Tenant data: only the client may keep it, revalidating with its ETag (a 304 when unchanged).
    const { buildingId, apartmentId } = c.req.valid("param");
    const { row, full } = await getApartment({ ctx: verbContext(c), buildingId, apartmentId });
    return c.json(toApartment(row, full), 200, { "Cache-Control": CACHE_POLICIES.privateRevalidate });
  });
}
