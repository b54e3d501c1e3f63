import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { PaginationQuerySchema, paginatedSchema } from "../../../http/pagination";
import { verbContext } from "../../../verbs";
import { listDeadEvents } from "../admin";
import { DeadEventSchema, DeadFiltersSchema } from "../schemas";

const QuerySchema = PaginationQuerySchema.extend({
  topic: DeadFiltersSchema.shape.topic.openapi({ param: { name: "topic", in: "query" } }),
  buildingId: DeadFiltersSchema.shape.buildingId.openapi({ param: { name: "buildingId", in: "query" } }),
}).strict();

const route = defineRoute({
  method: "get",
  operationId: "listDeadOutboxEvents",
  path: "/admin/outbox/dead",
  tags: ["Outbox"],
  summary: "Dead outbox events (platform administrators)",
  description:
    "Events whose last attempt failed, whose topic has no handler or whose payload was refused, most recently dead first, with the last error.",
  access: "admin",
  request: { query: QuerySchema },
  responses: {
    200: jsonContent(paginatedSchema(DeadEventSchema, "DeadOutboxEventPage"), "A page of dead events"),
  },
});

export function registerListDeadOutboxEvents(app: App) {
  app.openapi(route, async (c) => {
    const { page, limit, cursor, ...filters } = c.req.valid("query");
    const result = await listDeadEvents(verbContext(c), filters, { page, limit, cursor });
    return c.json(result, 200, { "Cache-Control": "no-store" });
  });
}
