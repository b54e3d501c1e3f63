import type { App } from "../../../http/env";
import { defineRoute } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { parseTemplateParams, TemplateParams } from "../schemas";
import { resetTemplate } from "../verbs";

const route = defineRoute({
  method: "delete",
  operationId: "resetNotificationTemplate",
  path: "/admin/notification-templates/{type}/{locale}/{channel}",
  tags: ["Notifications"],
  summary: "Drop an override: the shipped text applies again",
  access: "admin",
  request: { params: TemplateParams },
  responses: { 204: { description: "Override removed" } },
  errors: [404],
});

export function registerDeleteTemplate(app: App) {
  app.openapi(route, async (c) => {
    const { type, locale, channel } = parseTemplateParams(c.req.valid("param"));
    await resetTemplate({ ctx: verbContext(c), type, locale, channel });
    return c.body(null, 204);
  });
}
