import { z } from "@hono/zod-openapi";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { BuildingParams, text } from "../../buildings/common";
import { MaintenanceRequestSchema, PRIORITIES, toRequest } from "../schemas";
import { openRequest } from "../verbs";

const OpenRequestSchema = z
  .strictObject({
    title: text(200),
    description: text(10_000, 0).optional(),
    category: text(50).optional(),
    priority: z.enum(PRIORITIES).optional(),
    apartmentId: z.uuid().optional().openapi({
      description: "Residents: defaults to (and must be) their own apartment. Managers: required.",
    }),
  })
  .openapi("OpenMaintenanceRequest");

const route = defineRoute({
  method: "post",
  operationId: "openMaintenanceRequest",
  path: "/buildings/{buildingId}/requests",
  tags: ["Maintenance"],
  summary: "Open a maintenance request (residents for their own apartment, managers for any)",
  access: "member",
  request: {
    params: BuildingParams,
    body: { required: true, content: { "application/json": { schema: OpenRequestSchema } } },
  },
  responses: { 201: jsonContent(MaintenanceRequestSchema, "The opened request") },
  errors: [403, 422],
});

export function registerOpenRequest(app: App) {
  app.openapi(route, async (c) => {
    const { buildingId } = c.req.valid("param");
    const row = await openRequest({ ctx: verbContext(c), buildingId, input: c.req.valid("json") });
    c.header("Location", `${new URL(c.req.url).pathname}/${row.id}`);
    return c.json(toRequest(row), 201);
  });
}
