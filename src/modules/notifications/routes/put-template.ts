import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import {
  parseTemplateParams,
  SaveTemplateSchema,
  TemplateParams,
  TemplateSchema,
  toTemplate,
} from "../schemas";
import { saveTemplate } from "../verbs";

const route = defineRoute({
  method: "put",
  operationId: "saveNotificationTemplate",
  path: "/admin/notification-templates/{type}/{locale}/{channel}",
  tags: ["Notifications"],
  summary: "Override a type's title and body for one locale and channel",
  description:
    "`{{variable}}` placeholders must name variables the type declares; anything else is refused (400) when saved, never discovered at send time.",
  access: "admin",
  request: {
    params: TemplateParams,
    body: { required: true, content: { "application/json": { schema: SaveTemplateSchema } } },
  },
  responses: { 200: jsonContent(TemplateSchema, "The type's templates after the change") },
});

export function registerPutTemplate(app: App) {
  app.openapi(route, async (c) => {
    const { type, locale, channel } = parseTemplateParams(c.req.valid("param"));
    const view = await saveTemplate({
      ctx: verbContext(c),
      type,
      locale,
      channel,
      input: c.req.valid("json"),
    });
    return c.json(toTemplate(view), 200);
  });
}
