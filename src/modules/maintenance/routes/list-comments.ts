import { CACHE_POLICIES } from "../../../http/cache-control";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { PaginationQuerySchema, paginatedSchema } from "../../../http/pagination";
import { verbContext } from "../../../verbs";
import { BuildingParams, uuidParam } from "../../buildings/common";
import { withAttachments } from "../../files/attachments";
import { RequestCommentSchema, toComment } from "../schemas";
import { listComments } from "../verbs";

const CommentPageSchema = paginatedSchema(RequestCommentSchema, "RequestCommentPage");

const route = defineRoute({
  method: "get",
  operationId: "listRequestComments",
  path: "/buildings/{buildingId}/requests/{requestId}/comments",
  tags: ["Maintenance"],
  summary: "A request's comments, oldest first (managers; residents of its apartment)",
  access: "member",
  request: {
    params: BuildingParams.extend({ requestId: uuidParam("requestId") }),
    query: PaginationQuerySchema,
  },
  responses: { 200: jsonContent(CommentPageSchema, "A page of comments") },
});

export function registerListComments(app: App) {
  app.openapi(route, async (c) => {
    // Tenant data: only the client may keep it, revalidating with its ETag (a 304 when unchanged).
    const { buildingId, requestId } = c.req.valid("param");
    const ctx = verbContext(c);
    const page = await listComments({
      ctx,
      buildingId,
      requestId,
      query: c.req.valid("query"),
    });
    const data = await withAttachments(ctx, buildingId, "request_comment", page.data.map(toComment));
    return c.json({ data, pagination: page.pagination }, 200, {
      "Cache-Control": CACHE_POLICIES.privateRevalidate,
    });
  });
}
