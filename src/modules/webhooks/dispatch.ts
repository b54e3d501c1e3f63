/**
 * Fan-out of domain events to webhook endpoints (outbox topic `webhooks.dispatch`): for each
 * active endpoint of the event's building, and each platform endpoint, that subscribes to the
 * type, one message row (unique per endpoint and event, so a redelivered dispatch adds nothing)
 * and one `webhooks.deliver` event, in one transaction. Platform-neutral: the edge may run it;
 * delivery is the Node job's (./deliver.ts).
 */
import { and, eq, isNull, or, sql } from "drizzle-orm";
import { DomainEventEnvelopeSchema, parseDomainEvent } from "../../protocol/events";
import { inTransaction } from "../../verbs";
import { subscribeToDomainEvents } from "../events";
import { recordEvents } from "../outbox/record";
import { outboxHandlers } from "../outbox/registry";
import { webhookBody } from "./catalogue";
import { webhookEndpoints, webhookMessages } from "./tables";
import { DELIVER_TOPIC, DISPATCH_TOPIC } from "./verbs";

let registered = false;

/** Subscribes the webhooks to domain events and registers the fan-out handler (once per process). */
export function registerWebhookDispatch(): void {
  if (registered) return;
  registered = true;
  subscribeToDomainEvents({ topic: DISPATCH_TOPIC });
  outboxHandlers.register(DISPATCH_TOPIC, {
    payload: DomainEventEnvelopeSchema,
    async handle(envelope, ctx) {
      const event = parseDomainEvent(envelope);
      const endpoints = await ctx.db
        .select({ id: webhookEndpoints.id, buildingId: webhookEndpoints.buildingId })
        .from(webhookEndpoints)
        .where(
          and(
            eq(webhookEndpoints.active, true),
            or(eq(webhookEndpoints.buildingId, event.buildingId), isNull(webhookEndpoints.buildingId)),
            sql`${event.type} = any(${webhookEndpoints.eventTypes})`,
          ),
        );
      if (!endpoints.length) return;
      const body = webhookBody(event.type, event.occurredAt, event.data);
      await inTransaction(ctx, async (tx) => {
        const rows = await tx.db
          .insert(webhookMessages)
          .values(
            endpoints.map((e) => ({
              endpointId: e.id,
              buildingId: event.buildingId,
              eventId: event.eventId,
              eventType: event.type,
              body,
              correlationId: ctx.correlationId,
            })),
          )
          .onConflictDoNothing({ target: [webhookMessages.endpointId, webhookMessages.eventId] })
          .returning({ id: webhookMessages.id });
        await recordEvents(
          tx.db,
          rows.map((r) => ({
            topic: DELIVER_TOPIC,
            buildingId: event.buildingId,
            payload: { messageId: r.id },
            correlationId: ctx.correlationId,
          })),
        );
      });
    },
  });
}
