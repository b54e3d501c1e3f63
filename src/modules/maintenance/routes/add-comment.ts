import { z } from "@hono/zod-openapi";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { BuildingParams, text, uuidParam } from "../../buildings/common";
import { RequestCommentSchema, toComment } from "../schemas";
import { addComment } from "../verbs";

const AddCommentSchema = z.strictObject({ body: text(10_000) }).openapi("AddRequestComment");

const route = defineRoute({
  method: "post",
  operationId: "addRequestComment",
  path: "/buildings/{buildingId}/requests/{requestId}/comments",
  tags: ["Maintenance"],
  summary: "Comment on a request (managers; residents of its apartment)",
  access: "member",
  request: {
    params: BuildingParams.extend({ requestId: uuidParam("requestId") }),
    body: { required: true, content: { "application/json": { schema: AddCommentSchema } } },
  },
  responses: { 201: jsonContent(RequestCommentSchema, "The comment") },
});

export function registerAddComment(app: App) {
  app.openapi(route, async (c) => {
    const { buildingId, requestId } = c.req.valid("param");
    const row = await addComment({
      ctx: verbContext(c),
      buildingId,
      requestId,
      body: c.req.valid("json").body,
    });
    return c.json(toComment(row), 201);
  });
}
