import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { getProfile } from "../accounts";
import { ProfileSchema } from "../schemas";

const route = defineRoute({
  method: "get",
  operationId: "getMe",
  path: "/me",
  tags: ["Profile"],
  summary: "The signed-in user's profile",
  access: "user",
  responses: { 200: jsonContent(ProfileSchema, "Profile") },
});

export function registerGetMe(app: App) {
  app.openapi(route, async (c) => {
    const profile = await getProfile(verbContext(c));
    return c.json(profile, 200, { "Cache-Control": "private, no-cache" });
  });
}
