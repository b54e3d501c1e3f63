import { z } from "@hono/zod-openapi";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { replayEvent } from "../admin";

const ParamsSchema = z.object({
  eventId: z.uuid().openapi({ param: { name: "eventId", in: "path" }, description: "The outbox event id" }),
});

const ReplayedSchema = z.object({ id: z.uuid(), topic: z.string() }).openapi("ReplayedOutboxEvent");

const route = defineRoute({
  method: "post",
  operationId: "replayOutboxEvent",
  path: "/admin/outbox/events/{eventId}/replay",
  tags: ["Outbox"],
  summary: "Replay one dead or delivered outbox event (platform administrators)",
  description:
    "The event becomes due now with its attempts reset and is delivered again (handlers are idempotent by event id only within one delivery: a replay runs the handler again). 409 for an event still pending.",
  access: "admin",
  request: { params: ParamsSchema },
  responses: { 202: jsonContent(ReplayedSchema, "The event is due again") },
  errors: [404, 409],
});

export function registerReplayOutboxEvent(app: App) {
  app.openapi(route, async (c) => {
    const result = await replayEvent(verbContext(c), c.req.valid("param").eventId);
    return c.json(result, 202);
  });
}
