import { z } from "@hono/zod-openapi";
import { withIfMatch } from "../../../http/api-layer-docs";
import type { App } from "../../../http/env";
import { checkIfMatch, etagOf } from "../../../http/etag";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { updateBuilding } from "../building-verbs";
import { BuildingParams } from "../common";
import { BuildingFields, BuildingSchema, toBuilding } from "../schemas";

const UpdateBuildingSchema = z
  .strictObject({
    name: BuildingFields.name.optional(),
    addressLine: BuildingFields.addressLine.optional(),
    city: BuildingFields.city.optional(),
    country: BuildingFields.country.optional(),
    postalCode: BuildingFields.postalCode,
    timezone: BuildingFields.timezone,
    defaultLocale: BuildingFields.defaultLocale,
    currency: BuildingFields.currency,
  })
  .refine((v) => Object.keys(v).length > 0, "give at least one field to change")
  .openapi("UpdateBuilding");

const route = defineRoute(
  withIfMatch({
    method: "patch",
    operationId: "updateBuilding",
    path: "/buildings/{buildingId}",
    tags: ["Buildings"],
    summary: "Update a building (managers)",
    access: "manager",
    request: {
      params: BuildingParams,
      body: { required: true, content: { "application/json": { schema: UpdateBuildingSchema } } },
    },
    responses: { 200: jsonContent(BuildingSchema, "The updated building") },
  }),
);

export function registerUpdateBuilding(app: App) {
  app.openapi(route, async (c) => {
    const { buildingId } = c.req.valid("param");
    const row = await updateBuilding({
      ctx: verbContext(c),
      buildingId,
      input: c.req.valid("json"),
      precondition: (before) => checkIfMatch(c, etagOf(toBuilding(before))),
    });
    const body = toBuilding(row);
    // The new ETag, as GET serves it: the next write sends it in If-Match without a GET first.
    c.header("ETag", etagOf(body));
    return c.json(body, 200);
  });
}
