import { z } from "@hono/zod-openapi";
import { withIfMatch } from "../../../http/api-layer-docs";
import type { App } from "../../../http/env";
import { checkIfMatch, etagOf } from "../../../http/etag";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { BuildingParams, text, uuidParam } from "../../buildings/common";
import { attachmentsOf } from "../../files/attachments";
import { REQUEST_STATUSES } from "../schema";
import { MaintenanceRequestSchema, PRIORITIES, toRequest } from "../schemas";
import { updateRequest } from "../verbs";

const UpdateRequestSchema = z
  .strictObject({
    title: text(200).optional(),
    description: text(10_000, 0).optional(),
    category: text(50).optional().openapi({ description: "Managers only" }),
    priority: z.enum(PRIORITIES).optional().openapi({ description: "Managers only" }),
    status: z.enum(REQUEST_STATUSES).optional().openapi({
      description: "Managers only: open → in_progress → resolved | rejected, or open → rejected",
    }),
    assignedTo: z
      .uuid()
      .nullable()
      .optional()
      .openapi({ description: "Managers only: a member's user id, or null" }),
  })
  .refine((v) => Object.keys(v).length > 0, "give at least one field to change")
  .openapi("UpdateMaintenanceRequest");

const route = defineRoute(
  withIfMatch({
    method: "patch",
    operationId: "updateMaintenanceRequest",
    path: "/buildings/{buildingId}/requests/{requestId}",
    tags: ["Maintenance"],
    summary:
      "Edit a request: residents its title/description while open; managers status, assignment and more",
    access: "member",
    request: {
      params: BuildingParams.extend({ requestId: uuidParam("requestId") }),
      body: { required: true, content: { "application/json": { schema: UpdateRequestSchema } } },
    },
    responses: { 200: jsonContent(MaintenanceRequestSchema, "The updated request") },
    errors: [403, 409, 422],
  }),
);

export function registerUpdateRequest(app: App) {
  app.openapi(route, async (c) => {
    const { buildingId, requestId } = c.req.valid("param");
    const ctx = verbContext(c);
    // The representation GET serves (and its ETag) lists the request's files.
    const attachments =
      (await attachmentsOf(ctx, buildingId, "maintenance_request", [requestId])).get(requestId) ?? [];
    const row = await updateRequest({
      ctx,
      buildingId,
      requestId,
      input: c.req.valid("json"),
      precondition: (before) => checkIfMatch(c, etagOf({ ...toRequest(before), attachments })),
    });
    const body = { ...toRequest(row), attachments };
    // The new ETag, as GET serves it: the next write sends it in If-Match without a GET first.
    c.header("ETag", etagOf(body));
    return c.json(body, 200);
  });
}
