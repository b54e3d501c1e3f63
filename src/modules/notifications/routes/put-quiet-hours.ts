import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { QuietHoursSchema, toQuietHours, UpdateQuietHoursSchema } from "../schemas";
import { setQuietHours } from "../verbs";

const route = defineRoute({
  method: "put",
  operationId: "updateMyQuietHours",
  path: "/me/quiet-hours",
  tags: ["Notifications"],
  summary: "Set (start, end, optional IANA time zone) or clear (start and end null) quiet hours",
  access: "user",
  request: { body: { required: true, content: { "application/json": { schema: UpdateQuietHoursSchema } } } },
  responses: { 200: jsonContent(QuietHoursSchema, "The quiet hours after the change") },
});

export function registerPutQuietHours(app: App) {
  app.openapi(route, async (c) =>
    c.json(toQuietHours(await setQuietHours({ ctx: verbContext(c), input: c.req.valid("json") })), 200),
  );
}
