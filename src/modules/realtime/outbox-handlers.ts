/**
 * The realtime topics' outbox handlers: a poke, domain event or revocation whose publish right
 * after commit did not happen (publish failed, process died, recorded outside inTransaction) is
 * published by whichever queue transport the host runs, with the realtime retry policy. The
 * stored message is checked against the room protocol first: one that no longer parses is poison
 * (dead at once), never retried.
 */
import type { BusMessage } from "../../platform/realtime";
import { type RoomMessage, RoomMessageSchema } from "../../protocol/realtime";
import { type HandlerRegistry, outboxHandlers } from "../outbox/registry";
import { REALTIME_TOPICS } from "./publish";

export function registerRealtimeHandlers(registry: HandlerRegistry = outboxHandlers): void {
  for (const topic of Object.values(REALTIME_TOPICS)) {
    registry.register<RoomMessage>(topic, {
      payload: RoomMessageSchema,
      async handle(message, ctx) {
        await ctx.services.realtime.publish(message as BusMessage);
      },
    });
  }
}
