/**
 * The webhook event catalogue: the domain event types (src/protocol/events.ts) with their data
 * schemas, plus `ping` (the test event). Each delivery's body is `{ type, timestamp, data }`; the
 * OpenAPI document lists one entry per type in its `webhooks` section.
 */
import { z } from "@hono/zod-openapi";
import { DOMAIN_EVENT_DATA, DOMAIN_EVENT_TYPES, type DomainEventType } from "../../protocol/events";

export const PING_TYPE = "ping";
export const PING_DATA = z.strictObject({ endpointId: z.uuid(), message: z.string() });

export type WebhookEventType = DomainEventType | typeof PING_TYPE;

export const EVENT_DESCRIPTIONS: Record<WebhookEventType, string> = {
  "announcement.published": "An announcement was published (now, or at its scheduled time).",
  "announcement.updated": "A published announcement was edited.",
  "announcement.deleted": "An announcement was deleted.",
  "maintenance.created": "A maintenance request was opened.",
  "maintenance.status_changed": "A maintenance request moved to another status.",
  "maintenance.commented": "Someone commented on a maintenance request.",
  "payment.recorded": "A payment was recorded as paid.",
  "payment.due": "A payment fell due.",
  "member.joined": "Someone joined the building (or was invited).",
  "member.left": "A member left the building or was removed.",
  "sync.conflict": "An offline edit lost to a newer one during sync.",
  ping: "A test event sent on request (POST …/ping); not subscribable.",
};

/** Types an endpoint may subscribe to. */
export const SUBSCRIBABLE_TYPES = DOMAIN_EVENT_TYPES;

export function dataSchemaOf(type: WebhookEventType): z.ZodType {
  return type === PING_TYPE ? PING_DATA : DOMAIN_EVENT_DATA[type];
}

/** The body every delivery carries. */
export function webhookBody(type: string, timestamp: string, data: unknown): string {
  return JSON.stringify({ type, timestamp, data });
}

/** The catalogue as the list route answers it: each type, its description and JSON Schema. */
export function catalogue(): Array<{ type: WebhookEventType; description: string; schema: unknown }> {
  return ([...DOMAIN_EVENT_TYPES, PING_TYPE] as WebhookEventType[]).map((type) => ({
    type,
    description: EVENT_DESCRIPTIONS[type],
    schema: z.toJSONSchema(
      z.object({ type: z.literal(type), timestamp: z.iso.datetime(), data: dataSchemaOf(type) }),
      { target: "draft-2020-12", unrepresentable: "any" },
    ),
  }));
}
