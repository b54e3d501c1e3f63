import { z } from "@hono/zod-openapi";
import { CACHE_POLICIES } from "../../../http/cache-control";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { PaginationQuerySchema, paginatedSchema } from "../../../http/pagination";
import { verbContext } from "../../../verbs";
import { BuildingParams } from "../common";
import { listMembers } from "../member-verbs";
import { MemberSchema, toMember } from "../schemas";

const MemberPageSchema = paginatedSchema(MemberSchema, "MemberPage");

const QuerySchema = PaginationQuerySchema.extend({
  role: z
    .enum(["manager", "resident"])
    .optional()
    .openapi({ param: { name: "role", in: "query" } }),
  apartmentId: z
    .uuid()
    .optional()
    .openapi({ param: { name: "apartmentId", in: "query" } }),
});

const route = defineRoute({
  method: "get",
  operationId: "listMembers",
  path: "/buildings/{buildingId}/members",
  tags: ["Members"],
  summary: "List the building's members (managers), oldest first",
  access: "manager",
  request: { params: BuildingParams, query: QuerySchema },
  responses: { 200: jsonContent(MemberPageSchema, "A page of members") },
});

export function registerListMembers(app: App) {
  app.openapi(route, async (c) => {
    // Tenant data: only the client may keep it, revalidating with its ETag (a 304 when unchanged).
    const { buildingId } = c.req.valid("param");
    const { role, apartmentId, ...query } = c.req.valid("query");
    const page = await listMembers({ ctx: verbContext(c), buildingId, query, role, apartmentId });
    return c.json({ data: page.data.map(toMember), pagination: page.pagination }, 200, {
      "Cache-Control": CACHE_POLICIES.privateRevalidate,
    });
  });
}
