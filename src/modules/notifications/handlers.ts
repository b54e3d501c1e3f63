/**
 * The notifications subscriber: domain events arrive on `notifications.domain` (family
 * `notifications`: retries after 1, 2 and 4 s) and `notify` calls on `notifications.direct`; both
 * become a notice delivered by ./deliver.ts. A notice for many users is delivered in two steps
 * so the first pushes leave at once: its first FIRST_PAGE recipients right away, the rest by a
 * `notifications.rest` event recorded in the same transaction (same family, same retries), which
 * rebuilds the notice from the original event. Edge-safe (no Node-only import): rendering and
 * recording pushes runs wherever the event is delivered; sending them is the push handler's job.
 */
import { and, eq, isNull } from "drizzle-orm";
import { ZodError, z } from "zod";
import { users } from "../../db/schema";
import { DomainEventPayloadSchema, envelopesOf, parseDomainEvent } from "../../protocol/events";
import type { VerbContext } from "../../verbs";
import { subscribeToDomainEvents } from "../events";
import { type HandlerRegistry, outboxHandlers, PermanentDeliveryError } from "../outbox/registry";
import { deliverNotice, type Notice, REST_TOPIC } from "./deliver";
import { DIRECT_TOPIC, type DirectNotice, DirectNoticeSchema } from "./notify";
import { NOTIFIED_EVENT_TYPES, noticeFor } from "./recipients";

export const DOMAIN_TOPIC = "notifications.domain";
export { REST_TOPIC };

/** The rest of a notice's recipients, with the event it came from (rebuilt, not copied). */
export const RestOfNoticeSchema = z.object({
  source: z.enum([DOMAIN_TOPIC, DIRECT_TOPIC]),
  event: z.unknown(),
  recipients: z.array(z.uuid()).min(1).max(100_000),
  /** When the first step ran: the inbox rows and delivery times of the rest are as of then. */
  at: z.iso.datetime(),
});
export type RestOfNotice = z.infer<typeof RestOfNoticeSchema>;

export function subscribeNotifications(): () => void {
  return subscribeToDomainEvents({ topic: DOMAIN_TOPIC, types: NOTIFIED_EVENT_TYPES });
}

async function domainNotice(ctx: VerbContext, payload: unknown): Promise<Notice | null> {
  let event: ReturnType<typeof parseDomainEvent>;
  try {
    event = parseDomainEvent(payload);
  } catch (err) {
    if (err instanceof ZodError) {
      const type = (payload as { type?: unknown } | null)?.type;
      throw new PermanentDeliveryError(`malformed ${String(type)} data: ${err.message}`);
    }
    throw err;
  }
  return noticeFor(ctx, event);
}

async function directNotice(ctx: VerbContext, direct: DirectNotice): Promise<Notice> {
  const recipients =
    "platformAdmins" in direct.to
      ? (
          await ctx.db
            .select({ id: users.id })
            .from(users)
            .where(and(eq(users.isPlatformAdmin, true), isNull(users.deletedAt)))
        ).map((r) => r.id)
      : direct.to.userIds;
  return {
    eventId: direct.eventId,
    type: direct.type,
    buildingId: direct.buildingId,
    recipients,
    urgent: direct.urgent,
    values: () => direct.values,
    data: direct.data,
    collapseKey: `${direct.type}:${direct.eventId}`,
  };
}

export function registerNotificationHandlers(registry: HandlerRegistry = outboxHandlers): Array<() => void> {
  const logDelivered = (ctx: VerbContext, notice: Notice, summary: object, step: "first" | "rest") =>
    ctx.services.logger.info(
      { event: "notification_delivered", type: notice.type, eventId: notice.eventId, step, ...summary },
      "notification decided",
    );
  return [
    registry.register(DOMAIN_TOPIC, {
      payload: DomainEventPayloadSchema,
      async handle(payload, ctx) {
        // A sync batch's events come in one row, in order; each is its own notice (and rest event).
        for (const envelope of envelopesOf(payload)) {
          const notice = await domainNotice(ctx, envelope);
          if (!notice) continue;
          const summary = await deliverNotice(ctx, notice, {
            restOf: { source: DOMAIN_TOPIC, event: envelope },
          });
          logDelivered(ctx, notice, summary, "first");
        }
      },
    }),
    registry.register(DIRECT_TOPIC, {
      payload: DirectNoticeSchema,
      async handle(direct, ctx) {
        const notice = await directNotice(ctx, direct);
        const summary = await deliverNotice(ctx, notice, { restOf: { source: DIRECT_TOPIC, event: direct } });
        logDelivered(ctx, notice, summary, "first");
      },
    }),
    registry.register(REST_TOPIC, {
      payload: RestOfNoticeSchema,
      async handle(rest, ctx) {
        const at = { ...ctx, now: new Date(rest.at) };
        const notice =
          rest.source === DOMAIN_TOPIC
            ? await domainNotice(at, rest.event)
            : await directNotice(at, DirectNoticeSchema.parse(rest.event));
        if (!notice) return;
        // The recipients the first step chose, not recomputed: the first step already split them.
        const summary = await deliverNotice(at, { ...notice, recipients: rest.recipients });
        logDelivered(ctx, notice, summary, "rest");
      },
    }),
  ];
}
