import { z } from "@hono/zod-openapi";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { BuildingParams, text } from "../common";
import { addMember } from "../member-verbs";
import { MemberSchema, toMember } from "../schemas";

const AddMemberSchema = z
  .strictObject({
    email: z.email().max(254).optional().openapi({ description: "An unknown email creates an invited user" }),
    userId: z.uuid().optional(),
    name: text(200).optional().openapi({ description: "Display name of an invited user" }),
    role: z.enum(["manager", "resident"]),
    apartmentId: z.uuid().nullable().optional().openapi({ description: "Required for residents" }),
  })
  .refine((v) => Boolean(v.email) !== Boolean(v.userId), {
    message: "give exactly one of email or userId",
    path: ["email"],
  })
  .openapi("AddMember");

const AddedMemberSchema = z
  .object({
    member: MemberSchema,
    invited: z.boolean().openapi({ description: "The user has no account yet" }),
  })
  .openapi("AddedMember");

const route = defineRoute({
  method: "post",
  operationId: "addMember",
  path: "/buildings/{buildingId}/members",
  tags: ["Members"],
  summary: "Add a user (by id or email) to the building, or invite an email with no account (managers)",
  access: "manager",
  request: {
    params: BuildingParams,
    body: { required: true, content: { "application/json": { schema: AddMemberSchema } } },
  },
  responses: { 201: jsonContent(AddedMemberSchema, "The new membership") },
  errors: [409, 422],
});

export function registerAddMember(app: App) {
  app.openapi(route, async (c) => {
    const { buildingId } = c.req.valid("param");
    const { member, invited } = await addMember({
      ctx: verbContext(c),
      buildingId,
      input: c.req.valid("json"),
    });
    c.header("Location", `${new URL(c.req.url).pathname}/${member.id}`);
    return c.json({ member: toMember(member), invited }, 201);
  });
}
