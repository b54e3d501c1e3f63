import type { App } from "../../../http/env";
import { etagOf } from "../../../http/etag";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { updateProfile } from "../accounts";
import { ProfileSchema, UpdateProfileSchema } from "../schemas";

const route = defineRoute({
  method: "patch",
  operationId: "updateMe",
  path: "/me",
  tags: ["Profile"],
  summary: "Update the signed-in user's profile",
  description:
    "Send only the fields to change; `phone: null` clears the phone. Changes are audited as `user.update`.",
  access: "user",
  request: { body: { required: true, content: { "application/json": { schema: UpdateProfileSchema } } } },
  responses: { 200: jsonContent(ProfileSchema, "The updated profile") },
  errors: [409],
});

export function registerUpdateMe(app: App) {
  app.openapi(route, async (c) => {
    const profile = await updateProfile(verbContext(c), c.req.valid("json"));
    // The new ETag (the one GET /me serves), so a conditional GET needs no extra round trip.
    c.header("ETag", etagOf(profile));
    return c.json(profile, 200);
  });
}
