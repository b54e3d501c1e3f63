import type { App } from "../../../http/env";
import { defineRoute } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { deleteApartment } from "../apartment-verbs";
import { BuildingParams, uuidParam } from "../common";

const route = defineRoute({
  method: "delete",
  operationId: "deleteApartment",
  path: "/buildings/{buildingId}/apartments/{apartmentId}",
  tags: ["Apartments"],
  summary: "Delete an apartment (managers): a tombstone that sync clients receive",
  access: "manager",
  request: { params: BuildingParams.extend({ apartmentId: uuidParam("apartmentId") }) },
  responses: { 204: { description: "Deleted" } },
  errors: [409],
});

export function registerDeleteApartment(app: App) {
  app.openapi(route, async (c) => {
    const { buildingId, apartmentId } = c.req.valid("param");
    await deleteApartment({ ctx: verbContext(c), buildingId, apartmentId });
    return c.body(null, 204);
  });
}
