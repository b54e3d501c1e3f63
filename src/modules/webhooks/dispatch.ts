/**
 * Fan-out of domain events to webhook endpoints (outbox topic `webhooks.dispatch`): for each
 * active endpoint of the event's building, and each platform endpoint, that subscribes to the
 * type, one message row (unique per endpoint and event, so a redelivered dispatch adds nothing)
 * and one `webhooks.deliver` event. Platform-neutral: the edge may run it; delivery is the Node
 * job's (./deliver.ts).
 *
 * One statement does it all (a prepared, data-modifying CTE: match the endpoints, insert the
 * messages, insert one outbox event per message written): atomic without a transaction, and one
 * round trip per domain event where the select + BEGIN + two inserts + COMMIT were four. The
 * events it wrote are handed to the queue after it ran (noteRecorded), as recordEvents does.
 */
import { sql } from "drizzle-orm";
import { preparedSql } from "../../platform/db/prepared";
import { DomainEventPayloadSchema, envelopesOf, parseDomainEvent } from "../../protocol/events";
import { subscribeToDomainEvents } from "../events";
import { enqueueAfterCommit, noteRecorded } from "../outbox/record";
import { outboxHandlers } from "../outbox/registry";
import { webhookBody } from "./catalogue";
import { DELIVER_TOPIC, DISPATCH_TOPIC } from "./verbs";

const fanOut = preparedSql<{ id: string; available_at: string | Date }>(
  "horizon_webhooks_fan_out_v1",
  () =>
    sql.raw(`with matched as (
      select id from webhook_endpoints
      where active and (building_id = $1::uuid or building_id is null) and $2::text = any(event_types)
    ), messages as (
      insert into webhook_messages (endpoint_id, building_id, event_id, event_type, body, correlation_id)
      select id, $1::uuid, $3::uuid, $2::text, $4::text, $5::text from matched
      on conflict (endpoint_id, event_id) do nothing
      returning id
    ), events as (
      insert into outbox (building_id, topic, payload, correlation_id)
      select $1::uuid, '${DELIVER_TOPIC}', jsonb_build_object('messageId', id), $5::text from messages
      returning id, available_at
    )
    select id, available_at from events`),
  ["buildingId", "type", "eventId", "body", "correlationId"],
);

let registered = false;

/** Subscribes the webhooks to domain events and registers the fan-out handler (once per process). */
export function registerWebhookDispatch(): void {
  if (registered) return;
  registered = true;
  subscribeToDomainEvents({ topic: DISPATCH_TOPIC });
  outboxHandlers.register(DISPATCH_TOPIC, {
    payload: DomainEventPayloadSchema,
    async handle(payload, ctx) {
      const events = envelopesOf(payload).map(parseDomainEvent);
      const correlationId = ctx.correlationId;
      await enqueueAfterCommit(ctx.services, async () => {
        for (const event of events) {
          const written = await fanOut(ctx.db, {
            buildingId: event.buildingId,
            type: event.type,
            eventId: event.eventId,
            body: webhookBody(event.type, event.occurredAt, event.data),
            correlationId,
          });
          for (const w of written) {
            noteRecorded({
              id: w.id,
              topic: DELIVER_TOPIC,
              buildingId: event.buildingId,
              correlationId,
              availableAt: new Date(w.available_at),
            });
          }
        }
      });
    },
  });
}
