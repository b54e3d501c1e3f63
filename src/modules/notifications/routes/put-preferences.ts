import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { PreferencesSchema, toPreferences, UpdatePreferencesSchema } from "../schemas";
import { setPreferences } from "../verbs";

const route = defineRoute({
  method: "put",
  operationId: "updateMyNotificationPreferences",
  path: "/me/notification-preferences",
  tags: ["Notifications"],
  summary: "Turn notification types on or off per channel; critical types cannot be turned off (400)",
  access: "user",
  request: { body: { required: true, content: { "application/json": { schema: UpdatePreferencesSchema } } } },
  responses: { 200: jsonContent(PreferencesSchema, "The preferences after the change") },
});

export function registerPutPreferences(app: App) {
  app.openapi(route, async (c) => {
    const { preferences } = c.req.valid("json");
    return c.json(toPreferences(await setPreferences({ ctx: verbContext(c), preferences })), 200);
  });
}
