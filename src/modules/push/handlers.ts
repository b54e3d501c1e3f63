/**
 * Registers the push senders as outbox handlers: `notifications.push` (a rendered notification for
 * a chunk of users, or for one user in events of the older shape still queued) and `notifications.sync-poke` (a silent push that wakes the user's apps to sync one
 * building). Node-only by way of services.push's adapters: imported by workers/node-handlers.ts,
 * never by the edge Worker (QStash routes the `notifications` family to the job service).
 */

import {
  PUSH_TOPIC,
  PushEventPayloadSchema,
  pushPayloadsOf,
  SYNC_POKE_TOPIC,
  SyncPokePayloadSchema,
} from "../notifications/push-contract";
import { outboxHandlers } from "../outbox/registry";
import { deliverChunk, deliverToUser, messageOf } from "./deliver";

/** Pokes for one building replace each other on the device and are worthless after an hour. */
export const SYNC_POKE_TTL_SECONDS = 3600;

export const unregisterPushHandlers = [
  outboxHandlers.register(PUSH_TOPIC, {
    payload: PushEventPayloadSchema,
    async handle(payload, ctx) {
      await deliverChunk(
        ctx,
        pushPayloadsOf(payload).map((p) => ({
          notificationId: p.notificationId,
          userId: p.userId,
          message: messageOf(p),
        })),
      );
    },
  }),
  outboxHandlers.register(SYNC_POKE_TOPIC, {
    payload: SyncPokePayloadSchema,
    async handle(payload, ctx) {
      await deliverToUser(ctx, {
        // One poke is one event: its outbox id keys the delivery log and its retries.
        notificationId: ctx.event.id,
        userId: payload.userId,
        message: {
          title: "",
          body: "",
          silent: true,
          urgent: false,
          data: { type: "sync-poke", buildingId: payload.buildingId },
          collapseKey: `sync-${payload.buildingId}`,
          ttlSeconds: SYNC_POKE_TTL_SECONDS,
        },
      });
    },
  }),
];
