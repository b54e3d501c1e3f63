/**
 * The event catalogue in the OpenAPI 3.1 `webhooks` section: one entry per event type, the body
 * `{type, timestamp, data}` with the type's data schema and the Standard Webhooks headers.
 * Registered once on the top-level app (webhooks are not under a version prefix).
 */
import { z } from "@hono/zod-openapi";
import type { App } from "../../http/env";
import { DOMAIN_EVENT_TYPES } from "../../protocol/events";
import { dataSchemaOf, EVENT_DESCRIPTIONS, PING_TYPE, type WebhookEventType } from "./catalogue";

const SignatureHeaders = z.object({
  "webhook-id": z.string().openapi({
    description: "The event's id: the same on every retry, replay and redelivery; deduplicate on it",
  }),
  "webhook-timestamp": z.string().openapi({ description: "Unix seconds when this attempt was signed" }),
  "webhook-signature": z.string().openapi({
    description:
      "Space-separated `v1,<base64 HMAC-SHA256 of id.timestamp.body>`, one per valid secret (two during a rotation)",
  }),
});

const pascal = (type: string) =>
  type
    .split(/[._]/)
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join("");

export function registerWebhookCatalogue(app: App): void {
  for (const type of [...DOMAIN_EVENT_TYPES, PING_TYPE] as WebhookEventType[]) {
    const body = z
      .object({
        type: z.literal(type),
        timestamp: z.iso.datetime({ offset: true }),
        data: dataSchemaOf(type),
      })
      .openapi(`${pascal(type)}WebhookEvent`);
    app.openAPIRegistry.registerWebhook({
      method: "post",
      path: type,
      operationId: `on${pascal(type)}`,
      tags: ["Webhooks"],
      summary: EVENT_DESCRIPTIONS[type],
      // Authenticity is the Standard Webhooks signature in the headers, not an API credential.
      security: [],
      request: {
        headers: SignatureHeaders,
        body: { required: true, content: { "application/json": { schema: body } } },
      },
      responses: {
        200: {
          description:
            "Any 2xx: delivered. Anything else (3xx included) is retried; 410 disables the endpoint.",
        },
      },
    });
  }
}
