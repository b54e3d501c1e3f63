import { z } from "@hono/zod-openapi";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { createApartment } from "../apartment-verbs";
import { BuildingParams } from "../common";
import { ApartmentFields, ApartmentSchema, toApartment } from "../schemas";

const CreateApartmentSchema = z.strictObject(ApartmentFields).openapi("CreateApartment");

const route = defineRoute({
  method: "post",
  operationId: "createApartment",
  path: "/buildings/{buildingId}/apartments",
  tags: ["Apartments"],
  summary: "Create an apartment (managers); its number is unique within the building",
  access: "manager",
  request: {
    params: BuildingParams,
    body: { required: true, content: { "application/json": { schema: CreateApartmentSchema } } },
  },
  responses: { 201: jsonContent(ApartmentSchema, "The created apartment") },
  errors: [409],
});

export function registerCreateApartment(app: App) {
  app.openapi(route, async (c) => {
    const { buildingId } = c.req.valid("param");
    const row = await createApartment({ ctx: verbContext(c), buildingId, input: c.req.valid("json") });
    c.header("Location", `${new URL(c.req.url).pathname}/${row.id}`);
    return c.json(toApartment(row, true), 201);
  });
}
