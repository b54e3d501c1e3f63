/**
 * Sends one notification to every device of its user and keeps the delivery log: one
 * push_deliveries row per notification × device, queued → sent (the provider's message id) |
 * failed (the provider's error). It runs as the handler of an outbox event, so it is at-least-once
 * and must be idempotent: a retry (1/2/4 s for the `notifications` family) skips the devices
 * already `sent` for this notification and throws while any device failed transiently, which is
 * what makes the backbone retry. A dead token (Web Push 404/410, FCM UNREGISTERED, APNs 410 or
 * BadDeviceToken) deletes its device at once. Each provider sits behind a circuit breaker; while
 * one is open its devices are not tried (their attempt is not used up) and the event is retried.
 * Uses only the push port: the Node-only adapters come with services.push.
 */
import { and, eq, inArray, sql } from "drizzle-orm";
import { DependencyUnavailableError } from "../../platform/breaker";
import {
  type PushDevice,
  type PushMessage,
  PushPermanentError,
  PushRejectedError,
  type PushService,
  PushTransientError,
} from "../../platform/push";
import type { VerbContext } from "../../verbs";
import type { PushPayload } from "../notifications/push-contract";
import { pushDeliveries, pushDevices } from "./schema";

const MAX_ERROR = 500;

/** How one device fared in this run. */
export type DeviceOutcome =
  | { deviceId: string; status: "sent"; messageId: string }
  | { deviceId: string; status: "skipped" }
  | {
      deviceId: string;
      status: "failed";
      kind: "permanent" | "rejected" | "transient" | "open";
      error: string;
    };

export interface DeliveryReport {
  notificationId: string;
  outcomes: DeviceOutcome[];
}

/** The event is retried: some device failed in a way a later attempt may fix. */
export class PushRetryError extends Error {
  override name = "PushRetryError";
}

export interface Deliverable {
  notificationId: string;
  userId: string;
  message: PushMessage;
}

export function messageOf(payload: PushPayload): PushMessage {
  return {
    title: payload.title,
    body: payload.body,
    // The app routes on these; the sender's own keys win over the event's data.
    data: {
      ...payload.data,
      notificationId: payload.notificationId,
      type: payload.type,
      ...(payload.buildingId ? { buildingId: payload.buildingId } : {}),
    },
    urgent: payload.urgent,
    collapseKey: payload.collapseKey,
    ttlSeconds: payload.ttlSeconds,
  };
}

function pushOf(ctx: VerbContext): PushService {
  const push = ctx.services.push;
  // A host that runs this handler without providers is misconfigured; retrying may find it fixed.
  if (!push) throw new PushRetryError("no push service on this host (services.push unset)");
  return push;
}

/**
 * Delivers `item` to every current device of its user. Throws PushRetryError when the event must
 * run again (a transient failure or an open breaker on some device); returns the report otherwise.
 */
export async function deliverToUser(ctx: VerbContext, item: Deliverable): Promise<DeliveryReport> {
  const push = pushOf(ctx);
  const db = ctx.db;
  const devices = await db.select().from(pushDevices).where(eq(pushDevices.userId, item.userId));
  if (!devices.length) return { notificationId: item.notificationId, outcomes: [] };

  const already = await db
    .select({ deviceId: pushDeliveries.deviceId, status: pushDeliveries.status })
    .from(pushDeliveries)
    .where(
      and(
        eq(pushDeliveries.notificationId, item.notificationId),
        inArray(
          pushDeliveries.deviceId,
          devices.map((d) => d.id),
        ),
      ),
    );
  const sent = new Set(already.filter((r) => r.status === "sent").map((r) => r.deviceId));
  const todo = devices.filter((d) => !sent.has(d.id));
  if (todo.length) {
    await db
      .insert(pushDeliveries)
      .values(
        todo.map((d) => ({
          notificationId: item.notificationId,
          deviceId: d.id,
          userId: item.userId,
          provider: d.provider,
        })),
      )
      .onConflictDoNothing({ target: [pushDeliveries.notificationId, pushDeliveries.deviceId] });
  }

  const outcomes: DeviceOutcome[] = devices
    .filter((d) => sent.has(d.id))
    .map((d) => ({ deviceId: d.id, status: "skipped" as const }));
  outcomes.push(...(await Promise.all(todo.map((device) => sendOne(ctx, push, item, device)))));

  const retry = outcomes.filter(
    (o) => o.status === "failed" && (o.kind === "transient" || o.kind === "open"),
  );
  if (retry.length) {
    throw new PushRetryError(
      `${retry.length} of ${devices.length} device(s) to retry: ${retry
        .map((o) => (o.status === "failed" ? `${o.deviceId} ${o.error}` : ""))
        .join("; ")}`.slice(0, 2000),
    );
  }
  return { notificationId: item.notificationId, outcomes };
}

async function sendOne(
  ctx: VerbContext,
  push: PushService,
  item: Deliverable,
  device: typeof pushDevices.$inferSelect,
): Promise<DeviceOutcome> {
  const row = and(
    eq(pushDeliveries.notificationId, item.notificationId),
    eq(pushDeliveries.deviceId, device.id),
  );
  const breaker = push.breakerFor(device.provider);
  const ticket = breaker.admit();
  if (!ticket) {
    // Not tried: the attempt count stays, the event is retried once the breaker lets calls through.
    const error = new DependencyUnavailableError(breaker.name, "open", breaker.retryAfterMs()).message;
    await ctx.db
      .update(pushDeliveries)
      .set({ status: "failed", error, updatedAt: sql`now()` })
      .where(and(row, sql`${pushDeliveries.status} <> 'sent'`));
    return { deviceId: device.id, status: "failed", kind: "open", error };
  }
  const target: PushDevice = {
    id: device.id,
    provider: device.provider,
    platform: device.platform,
    token: device.token,
    p256dh: device.p256dh,
    auth: device.auth,
  };
  try {
    const { messageId } = await push.providerFor(device.provider).send(target, item.message);
    breaker.success(ticket);
    await ctx.db
      .update(pushDeliveries)
      .set({
        status: "sent",
        providerMessageId: messageId.slice(0, MAX_ERROR),
        error: null,
        attempts: sql`${pushDeliveries.attempts} + 1`,
        sentAt: ctx.services.clock.now(),
        updatedAt: sql`now()`,
      })
      .where(row);
    return { deviceId: device.id, status: "sent", messageId };
  } catch (err) {
    const kind =
      err instanceof PushPermanentError
        ? "permanent"
        : err instanceof PushRejectedError
          ? "rejected"
          : "transient";
    // The provider answered (the token or the message was at fault): the provider itself is fine.
    if (kind === "transient") breaker.failure(ticket);
    else breaker.success(ticket);
    const error = (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).slice(0, MAX_ERROR);
    await ctx.db
      .update(pushDeliveries)
      .set({ status: "failed", error, attempts: sql`${pushDeliveries.attempts} + 1`, updatedAt: sql`now()` })
      .where(row);
    if (kind === "permanent") {
      // Token hygiene: only this token, and only if it is still the one that failed (not re-registered since).
      await ctx.db
        .delete(pushDevices)
        .where(and(eq(pushDevices.id, device.id), eq(pushDevices.token, device.token)));
      ctx.services.logger.info(
        { event: "push_device_removed", deviceId: device.id, provider: device.provider, reason: error },
        "push token is dead: device removed",
      );
    } else if (!(err instanceof PushTransientError) && !(err instanceof PushRejectedError)) {
      ctx.services.logger.warn(
        { event: "push_send_error", deviceId: device.id, provider: device.provider, err: error },
        "unexpected push send error (retried)",
      );
    }
    return { deviceId: device.id, status: "failed", kind, error };
  }
}
