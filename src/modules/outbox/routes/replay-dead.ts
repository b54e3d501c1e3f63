import { z } from "@hono/zod-openapi";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { replayDeadEvents } from "../admin";
import { DeadFiltersSchema } from "../schemas";

const BodySchema = DeadFiltersSchema.extend({
  limit: z.number().int().min(1).max(1000).default(100).openapi({
    description: "At most this many events (oldest dead first); call again for the rest",
  }),
})
  .strict()
  .openapi("ReplayDeadOutboxEvents");

const route = defineRoute({
  method: "post",
  operationId: "replayDeadOutboxEvents",
  path: "/admin/outbox/dead/replay",
  tags: ["Outbox"],
  summary: "Replay dead outbox events matching filters (platform administrators)",
  description: "Each matching dead event becomes due now with its attempts reset.",
  access: "admin",
  request: { body: { required: true, content: { "application/json": { schema: BodySchema } } } },
  responses: {
    202: jsonContent(
      z.object({ replayed: z.number().int() }).openapi("ReplayedCount"),
      "How many were replayed",
    ),
  },
});

export function registerReplayDeadOutboxEvents(app: App) {
  app.openapi(route, async (c) => {
    const { limit, ...filters } = c.req.valid("json");
    return c.json(await replayDeadEvents(verbContext(c), filters, limit), 202);
  });
}
