import { z } from "@hono/zod-openapi";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { catalogue } from "../catalogue";

const EventTypeSchema = z
  .object({
    type: z.string(),
    description: z.string(),
    schema: z.record(z.string(), z.unknown()).openapi({ description: "JSON Schema of the delivery body" }),
  })
  .openapi("WebhookEventType");
const ListSchema = z.object({ data: z.array(EventTypeSchema) }).openapi("WebhookEventTypeList");

const route = defineRoute({
  method: "get",
  operationId: "listWebhookEventTypes",
  path: "/webhooks/event-types",
  tags: ["Webhooks"],
  summary: "The webhook event catalogue: each type, what it means and its body's JSON Schema",
  description:
    "Every delivery's body is {type, timestamp, data}, signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature). The same catalogue is the document's `webhooks` section.",
  access: "user",
  responses: { 200: jsonContent(ListSchema, "The catalogue") },
});

let cached: z.infer<typeof ListSchema> | undefined;

export function registerListEventTypes(app: App) {
  app.openapi(route, (c) => {
    cached ??= { data: catalogue() as z.infer<typeof ListSchema>["data"] };
    return c.json(cached, 200, { "Cache-Control": "private, max-age=3600" });
  });
}
