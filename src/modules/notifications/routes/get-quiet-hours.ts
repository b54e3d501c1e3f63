import { CACHE_POLICIES } from "../../../http/cache-control";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { QuietHoursSchema, toQuietHours } from "../schemas";
import { getQuietHours } from "../verbs";

const route = defineRoute({
  method: "get",
  operationId: "getMyQuietHours",
  path: "/me/quiet-hours",
  tags: ["Notifications"],
  summary: "The signed-in user's quiet hours (non-urgent pushes wait until they end)",
  access: "user",
  responses: { 200: jsonContent(QuietHoursSchema, "The daily window in the user's time zone") },
});

export function registerGetQuietHours(app: App) {
  app.openapi(route, async (c) => {
    return c.json(toQuietHours(await getQuietHours(verbContext(c))), 200, {
      "Cache-Control": CACHE_POLICIES.privateRevalidate,
    });
  });
}
