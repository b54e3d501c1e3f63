import { z } from "@hono/zod-openapi";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { uuidParam } from "../../buildings/common";
import { InboxNotificationSchema, toInbox } from "../schemas";
import { markRead } from "../verbs";

const route = defineRoute({
  // PUT, not POST: the read mark is a state set idempotently, and POST beside POST …/read-all would
  // put a static and a parameter segment in one method's tree, which Hono's RegExpRouter refuses
  // (the app would fall back to the slower TrieRouter for every route; test/unit/router.test.ts).
  method: "put",
  operationId: "markMyNotificationRead",
  path: "/me/notifications/{notificationId}/read",
  tags: ["Notifications"],
  summary: "Mark one of the signed-in user's notifications read (idempotent)",
  access: "user",
  request: { params: z.object({ notificationId: uuidParam("notificationId") }) },
  responses: { 200: jsonContent(InboxNotificationSchema, "The notification, read") },
  errors: [404],
});

export function registerMarkRead(app: App) {
  app.openapi(route, async (c) => {
    const { notificationId } = c.req.valid("param");
    return c.json(toInbox(await markRead({ ctx: verbContext(c), notificationId })), 200);
  });
}
