import { CACHE_POLICIES } from "../../../http/cache-control";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { TemplateListSchema, toTemplate } from "../schemas";
import { listTemplates } from "../verbs";

const route = defineRoute({
  method: "get",
  operationId: "listNotificationTemplates",
  path: "/admin/notification-templates",
  tags: ["Notifications"],
  summary: "Every notification type with its variables and effective texts per locale and channel",
  access: "admin",
  responses: { 200: jsonContent(TemplateListSchema, "The template catalogue") },
});

export function registerListTemplates(app: App) {
  app.openapi(route, async (c) => {
    return c.json({ types: (await listTemplates(verbContext(c))).map(toTemplate) }, 200, {
      "Cache-Control": CACHE_POLICIES.privateRevalidate,
    });
  });
}
