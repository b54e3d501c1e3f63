import { z } from "@hono/zod-openapi";
import { withIfMatch } from "../../../http/api-layer-docs";
import type { App } from "../../../http/env";
import { checkIfMatch, etagOf } from "../../../http/etag";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { updateApartment } from "../apartment-verbs";
import { BuildingParams, uuidParam } from "../common";
import { ApartmentFields, ApartmentSchema, toApartment } from "../schemas";

const UpdateApartmentSchema = z
  .strictObject({ ...ApartmentFields, number: ApartmentFields.number.optional() })
  .refine((v) => Object.keys(v).length > 0, "give at least one field to change")
  .openapi("UpdateApartment");

const route = defineRoute(
  withIfMatch({
    method: "patch",
    operationId: "updateApartment",
    path: "/buildings/{buildingId}/apartments/{apartmentId}",
    tags: ["Apartments"],
    summary: "Edit an apartment (managers)",
    access: "manager",
    request: {
      params: BuildingParams.extend({ apartmentId: uuidParam("apartmentId") }),
      body: { required: true, content: { "application/json": { schema: UpdateApartmentSchema } } },
    },
    responses: { 200: jsonContent(ApartmentSchema, "The updated apartment") },
    errors: [409],
  }),
);

export function registerUpdateApartment(app: App) {
  app.openapi(route, async (c) => {
    const { buildingId, apartmentId } = c.req.valid("param");
    const row = await updateApartment({
      ctx: verbContext(c),
      buildingId,
      apartmentId,
      input: c.req.valid("json"),
      precondition: (before) => checkIfMatch(c, etagOf(toApartment(before, true))),
    });
    const body = toApartment(row, true);
    // The new ETag, as GET serves it: the next write sends it in If-Match without a GET first.
    c.header("ETag", etagOf(body));
    return c.json(body, 200);
  });
}
