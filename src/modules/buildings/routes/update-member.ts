import { z } from "@hono/zod-openapi";
import type { App } from "../../../http/env";
import { etagOf } from "../../../http/etag";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { BuildingParams, uuidParam } from "../common";
import { updateMember } from "../member-verbs";
import { MemberSchema, toMember } from "../schemas";

const UpdateMemberSchema = z
  .strictObject({
    role: z.enum(["manager", "resident"]).optional(),
    apartmentId: z.uuid().nullable().optional(),
  })
  .refine((v) => Object.keys(v).length > 0, "give role and/or apartmentId")
  .openapi("UpdateMember");

const route = defineRoute({
  method: "patch",
  operationId: "updateMember",
  path: "/buildings/{buildingId}/members/{memberId}",
  tags: ["Members"],
  summary: "Change a member's role or apartment (managers); the last manager cannot be demoted",
  access: "manager",
  request: {
    params: BuildingParams.extend({ memberId: uuidParam("memberId") }),
    body: { required: true, content: { "application/json": { schema: UpdateMemberSchema } } },
  },
  responses: { 200: jsonContent(MemberSchema, "The updated membership") },
  errors: [409, 422],
});

export function registerUpdateMember(app: App) {
  app.openapi(route, async (c) => {
    const { buildingId, memberId } = c.req.valid("param");
    const row = await updateMember({ ctx: verbContext(c), buildingId, memberId, input: c.req.valid("json") });
    const body = toMember(row);
    // The new ETag, as GET serves it: the next write sends it in If-Match without a GET first.
    c.header("ETag", etagOf(body));
    return c.json(body, 200);
  });
}
