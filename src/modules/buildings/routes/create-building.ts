import { z } from "@hono/zod-openapi";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { createBuilding } from "../building-verbs";
import { BuildingFields, BuildingSchema, toBuilding } from "../schemas";

const CreateBuildingSchema = z
  .strictObject({
    ...BuildingFields,
    managerUserId: z.uuid().optional().openapi({ description: "Makes this existing user the first manager" }),
  })
  .openapi("CreateBuilding");

const route = defineRoute({
  method: "post",
  operationId: "createBuilding",
  path: "/buildings",
  tags: ["Buildings"],
  summary: "Create a building (platform administrators), optionally with its first manager",
  access: "admin",
  request: { body: { required: true, content: { "application/json": { schema: CreateBuildingSchema } } } },
  responses: { 201: jsonContent(BuildingSchema, "The created building") },
  errors: [422],
});

export function registerCreateBuilding(app: App) {
  app.openapi(route, async (c) => {
    const row = await createBuilding({ ctx: verbContext(c), input: c.req.valid("json") });
    c.header("Location", `${new URL(c.req.url).pathname}/${row.id}`);
    return c.json(toBuilding(row), 201);
  });
}
