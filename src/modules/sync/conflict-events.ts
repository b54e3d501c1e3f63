/**
 * `sync.conflict` outbox events: persist.ts records one per conflict in the push's transaction;
 * the handler below tells the building room (a `sync.conflict` domain event naming the user whose
 * edit lost), so that user's online clients fetch their conflicts. Notifications to offline
 * devices join it when the notifications module arrives.
 */
import { z } from "zod";
import type { BusMessage } from "../../platform/realtime";
import { type HandlerRegistry, outboxHandlers } from "../outbox/registry";

export const SYNC_CONFLICT_TOPIC = "sync.conflict";

/** What persist.ts stores; extra fields (field, kind, rule, opId) are kept for later consumers. */
const ConflictPayloadSchema = z.looseObject({
  conflictId: z.uuid(),
  userId: z.uuid(),
  entity: z.string().min(1).max(64),
});

export function registerSyncConflictHandler(registry: HandlerRegistry = outboxHandlers): void {
  registry.register(SYNC_CONFLICT_TOPIC, {
    payload: ConflictPayloadSchema,
    async handle(conflict, ctx) {
      const buildingId = ctx.event.buildingId;
      if (!buildingId) return;
      const message: BusMessage = {
        type: "event",
        buildingId,
        event: {
          kind: "sync.conflict",
          conflictId: conflict.conflictId,
          userId: conflict.userId,
          entity: conflict.entity,
        },
        at: ctx.now.toISOString(),
      };
      await ctx.services.realtime.publish(message);
    },
  });
}
