import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { outboxStats } from "../admin";
import { OutboxStatsSchema } from "../schemas";

const route = defineRoute({
  method: "get",
  operationId: "getOutboxStats",
  path: "/admin/outbox/stats",
  tags: ["Outbox"],
  summary: "Outbox backlog: pending, due, oldest due age, dead, in flight (platform administrators)",
  access: "admin",
  responses: { 200: jsonContent(OutboxStatsSchema, "The outbox figures now") },
});

export function registerOutboxStats(app: App) {
  app.openapi(route, async (c) => {
    return c.json(await outboxStats(c.get("services")), 200, { "Cache-Control": "no-store" });
  });
}
