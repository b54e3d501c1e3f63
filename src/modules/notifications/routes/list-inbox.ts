import { z } from "@hono/zod-openapi";
import { CACHE_POLICIES } from "../../../http/cache-control";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { PaginationQuerySchema } from "../../../http/pagination";
import { verbContext } from "../../../verbs";
import { InboxPageSchema, toInbox } from "../schemas";
import { listInbox } from "../verbs";

const QuerySchema = PaginationQuerySchema.extend({
  unread: z
    .enum(["true", "false"])
    .optional()
    .openapi({ param: { name: "unread", in: "query" }, description: "true: unread ones only" }),
});

const route = defineRoute({
  method: "get",
  operationId: "listMyNotifications",
  path: "/me/notifications",
  tags: ["Notifications"],
  summary: "The signed-in user's in-app notifications, newest first, with the unread count",
  access: "user",
  request: { query: QuerySchema },
  responses: { 200: jsonContent(InboxPageSchema, "A page of notifications") },
});

export function registerListInbox(app: App) {
  app.openapi(route, async (c) => {
    c.header("Cache-Control", CACHE_POLICIES.privateRevalidate);
    const { unread, ...query } = c.req.valid("query");
    const page = await listInbox({ ctx: verbContext(c), query, unread: unread === "true" });
    return c.json(
      { data: page.data.map(toInbox), pagination: page.pagination, unreadCount: page.unreadCount },
      200,
    );
  });
}
