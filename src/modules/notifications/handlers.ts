/**
 * The notifications subscriber: domain events arrive on `notifications.domain` (family
 * `notifications`: retries after 1, 2 and 4 s) and `notify` calls on `notifications.direct`; both
 * become a notice delivered by ./deliver.ts. Edge-safe (no Node-only import): rendering and
 * recording pushes runs wherever the event is delivered; sending them is the push handler's job.
 */
import { and, eq, isNull } from "drizzle-orm";
import { ZodError } from "zod";
import { users } from "../../db/schema";
import { DomainEventEnvelopeSchema, parseDomainEvent } from "../../protocol/events";
import { subscribeToDomainEvents } from "../events";
import { type HandlerRegistry, outboxHandlers, PermanentDeliveryError } from "../outbox/registry";
import { deliverNotice } from "./deliver";
import { DIRECT_TOPIC, DirectNoticeSchema } from "./notify";
import { NOTIFIED_EVENT_TYPES, noticeFor } from "./recipients";

export const DOMAIN_TOPIC = "notifications.domain";

export function subscribeNotifications(): () => void {
  return subscribeToDomainEvents({ topic: DOMAIN_TOPIC, types: NOTIFIED_EVENT_TYPES });
}

export function registerNotificationHandlers(registry: HandlerRegistry = outboxHandlers): Array<() => void> {
  return [
    registry.register(DOMAIN_TOPIC, {
      payload: DomainEventEnvelopeSchema,
      async handle(payload, ctx) {
        let event: ReturnType<typeof parseDomainEvent>;
        try {
          event = parseDomainEvent(payload);
        } catch (err) {
          if (err instanceof ZodError)
            throw new PermanentDeliveryError(`malformed ${payload.type} data: ${err.message}`);
          throw err;
        }
        const notice = await noticeFor(ctx, event);
        if (!notice) return;
        const summary = await deliverNotice(ctx, notice);
        ctx.services.logger.info(
          { event: "notification_delivered", type: notice.type, eventId: notice.eventId, ...summary },
          "notification decided",
        );
      },
    }),
    registry.register(DIRECT_TOPIC, {
      payload: DirectNoticeSchema,
      async handle(direct, ctx) {
        const recipients =
          "platformAdmins" in direct.to
            ? (
                await ctx.db
                  .select({ id: users.id })
                  .from(users)
                  .where(and(eq(users.isPlatformAdmin, true), isNull(users.deletedAt)))
              ).map((r) => r.id)
            : direct.to.userIds;
        const summary = await deliverNotice(ctx, {
          eventId: direct.eventId,
          type: direct.type,
          buildingId: direct.buildingId,
          recipients,
          urgent: direct.urgent,
          values: () => direct.values,
          data: direct.data,
          collapseKey: `${direct.type}:${direct.eventId}`,
        });
        ctx.services.logger.info(
          { event: "notification_delivered", type: direct.type, eventId: direct.eventId, ...summary },
          "notification decided",
        );
      },
    }),
  ];
}
