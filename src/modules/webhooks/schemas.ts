/** Request and response shapes of the webhook routes. Secrets appear only in the *WithSecret shapes. */
import { z } from "@hono/zod-openapi";
import { DOMAIN_EVENT_TYPES, type DomainEventType } from "../../protocol/events";
import { isoOrNull, Timestamp, text } from "../buildings/common";
import type { AttemptRow, EndpointRow, MessageRow } from "./verbs";

const EventType = z.enum(DOMAIN_EVENT_TYPES as [DomainEventType, ...DomainEventType[]]);

/** No control characters (PostgreSQL refuses NUL in text) and no lone surrogates. */
function wellFormed(v: string): boolean {
  try {
    encodeURIComponent(v); // throws URIError on a lone surrogate
    return true;
  } catch {
    return false;
  }
}
const printable = (v: string) =>
  wellFormed(v) && ![...v].some((ch) => ch.charCodeAt(0) < 0x20 || ch === "\x7f");

export const WebhookUrl = z
  .url({ protocol: /^https?$/ })
  .max(2048)
  .refine(printable, "control characters are not allowed")
  .openapi({
    example: "https://hooks.example.com/horizon",
    description: "https only (http for allowlisted hosts)",
  });

export const CreateWebhookEndpointSchema = z
  .strictObject({
    url: WebhookUrl,
    eventTypes: z.array(EventType).min(1).max(DOMAIN_EVENT_TYPES.length),
    description: text(500, 0).optional(),
    active: z.boolean().optional(),
  })
  .openapi("CreateWebhookEndpoint");

export const UpdateWebhookEndpointSchema = z
  .strictObject({
    url: WebhookUrl.optional(),
    eventTypes: z.array(EventType).min(1).max(DOMAIN_EVENT_TYPES.length).optional(),
    description: text(500, 0).optional(),
    active: z.boolean().optional(),
  })
  .refine((v) => Object.keys(v).length > 0, "nothing to change")
  .openapi("UpdateWebhookEndpoint");

export const WebhookEndpointSchema = z
  .object({
    id: z.uuid(),
    buildingId: z.uuid().nullable(),
    url: z.string(),
    description: z.string(),
    eventTypes: z.array(z.string()),
    active: z.boolean(),
    disabledReason: z.enum(["gone", "failing"]).nullable(),
    failingSince: Timestamp.nullable(),
    previousSecretExpiresAt: Timestamp.nullable().openapi({
      description: "While set, deliveries are signed with the previous secret too",
    }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi("WebhookEndpoint");

export const WebhookEndpointWithSecretSchema = WebhookEndpointSchema.extend({
  secret: z.string().openapi({ description: "whsec_… — shown only now; store it to verify deliveries" }),
}).openapi("WebhookEndpointWithSecret");

export function toEndpoint(row: EndpointRow): z.infer<typeof WebhookEndpointSchema> {
  return {
    id: row.id,
    buildingId: row.buildingId,
    url: row.url,
    description: row.description,
    eventTypes: row.eventTypes,
    active: row.active,
    disabledReason: (row.disabledReason as "gone" | "failing" | null) ?? null,
    failingSince: isoOrNull(row.failingSince),
    previousSecretExpiresAt: isoOrNull(row.previousSecretExpiresAt),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export const WebhookDeliverySchema = z
  .object({
    id: z.uuid(),
    endpointId: z.uuid(),
    eventId: z.uuid().openapi({ description: "The webhook-id header: the receiver's deduplication key" }),
    eventType: z.string(),
    status: z.enum(["pending", "held", "succeeded", "failed"]),
    attempts: z.number().int(),
    lastStatusCode: z.number().int().nullable(),
    lastError: z.string().nullable(),
    correlationId: z.string(),
    deliveredAt: Timestamp.nullable(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi("WebhookDelivery");

export function toDelivery(row: MessageRow): z.infer<typeof WebhookDeliverySchema> {
  return {
    id: row.id,
    endpointId: row.endpointId,
    eventId: row.eventId,
    eventType: row.eventType,
    status: row.status as "pending",
    attempts: row.attempts,
    lastStatusCode: row.lastStatusCode,
    lastError: row.lastError,
    correlationId: row.correlationId,
    deliveredAt: isoOrNull(row.deliveredAt),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export const WebhookAttemptSchema = z
  .object({
    id: z.uuid(),
    deliveryId: z.uuid(),
    attempt: z.number().int(),
    statusCode: z.number().int().nullable(),
    responseBody: z.string().nullable().openapi({ description: "The first 1 KB of the answer" }),
    error: z.string().nullable(),
    durationMs: z.number().int(),
    createdAt: Timestamp,
  })
  .openapi("WebhookAttempt");

export function toAttempt(row: AttemptRow): z.infer<typeof WebhookAttemptSchema> {
  return {
    id: row.id,
    deliveryId: row.messageId,
    attempt: row.attempt,
    statusCode: row.statusCode,
    responseBody: row.responseBody,
    error: row.error,
    durationMs: row.durationMs,
    createdAt: row.createdAt.toISOString(),
  };
}

export const WebhookHealthSchema = z
  .object({
    endpointId: z.uuid(),
    active: z.boolean(),
    disabledReason: z.string().nullable(),
    failingSince: Timestamp.nullable(),
    attempts24h: z.number().int(),
    successRate: z.number().min(0).max(1).nullable(),
    lastError: z
      .object({ statusCode: z.number().int().nullable(), error: z.string().nullable(), at: Timestamp })
      .nullable(),
    breaker: z.object({ state: z.enum(["closed", "open", "half-open"]), retryAfterMs: z.number().int() }),
  })
  .openapi("WebhookEndpointHealth");
