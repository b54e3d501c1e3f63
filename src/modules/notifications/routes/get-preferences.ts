import { CACHE_POLICIES } from "../../../http/cache-control";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { PreferencesSchema, toPreferences } from "../schemas";
import { getPreferences } from "../verbs";

const route = defineRoute({
  method: "get",
  operationId: "getMyNotificationPreferences",
  path: "/me/notification-preferences",
  tags: ["Notifications"],
  summary: "Which notification types reach the signed-in user on which channel (push, in-app)",
  access: "user",
  responses: { 200: jsonContent(PreferencesSchema, "Every type with its channels and defaults") },
});

export function registerGetPreferences(app: App) {
  app.openapi(route, async (c) => {
    return c.json(toPreferences(await getPreferences(verbContext(c))), 200, {
      "Cache-Control": CACHE_POLICIES.privateRevalidate,
    });
  });
}
