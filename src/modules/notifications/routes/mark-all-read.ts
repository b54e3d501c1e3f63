import { z } from "@hono/zod-openapi";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { markAllRead } from "../verbs";

const MarkAllReadSchema = z
  .object({ updated: z.number().int().openapi({ description: "Notifications that were unread" }) })
  .openapi("MarkAllNotificationsRead");

const route = defineRoute({
  method: "post",
  operationId: "markAllMyNotificationsRead",
  path: "/me/notifications/read-all",
  tags: ["Notifications"],
  summary: "Mark every notification of the signed-in user read",
  access: "user",
  responses: { 200: jsonContent(MarkAllReadSchema, "How many were unread") },
});

export function registerMarkAllRead(app: App) {
  app.openapi(route, async (c) => c.json(await markAllRead({ ctx: verbContext(c) }), 200));
}
