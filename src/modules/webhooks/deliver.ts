/**
 * The `webhooks.deliver` outbox handler (Node-only: DNS and a socket pinned to the checked
 * address; imported by workers/node-handlers.ts). One call is one HTTP attempt of one message:
 *
 *  - the endpoint's breaker (kv, shared by every process) is open → the message is held: a new
 *    delivery event is recorded for when it half-opens and this one ends without an attempt, so
 *    an outage does not burn the message's retries;
 *  - the target is checked again (SSRF: scheme, port, every resolved address) and the request
 *    goes to the checked address; a refused target is a permanent failure (no retry);
 *  - POST with the Standard Webhooks headers, 15 s deadline, 2xx only (3xx is a failure:
 *    redirects are never followed); status and the first 1 KB of the answer are recorded;
 *  - 410 Gone disables the endpoint at once; an endpoint failing for WEBHOOK_DISABLE_AFTER_HOURS
 *    (5 days) is disabled and its owner told; other failures are thrown so the outbox retries per
 *    the `webhooks` policy (1/2/4/8/16 s).
 */
import { createHmac } from "node:crypto";
import http from "node:http";
import https from "node:https";
import { eq, sql } from "drizzle-orm";
import { z } from "zod";
import { OutboundTimeout, pinnedRequest } from "../../platform/net/pinned-fetch";
import { OutboundRefused, outboundPolicyFrom } from "../../platform/net/ssrf";
import type { Services } from "../../services";
import { inTransaction } from "../../verbs";
import { notify } from "../notifications/notify";
import { policyFor } from "../outbox/policies";
import { enqueueAfterCommit, recordEvents } from "../outbox/record";
import { type OutboxHandlerContext, outboxHandlers, PermanentDeliveryError } from "../outbox/registry";
import { countTowardBurst, raiseAlert } from "./alerts";
import { setSyncHmac, signedHeaders } from "./signing";
import { webhookAttempts, webhookEndpoints, webhookMessages } from "./tables";
import { DELIVER_TOPIC, type EndpointRow, endpointBreaker, signingSecrets } from "./verbs";

export const DeliverPayloadSchema = z.object({ messageId: z.uuid(), ping: z.boolean().optional() });

const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 64 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 64 }),
};

// Signing on the Node hosts: node:crypto's synchronous HMAC (the same bytes as WebCrypto's).
setSyncHmac((key, content) => createHmac("sha256", key).update(content).digest("base64"));

const USER_AGENT = "Horizon-Webhooks/1.0 (+https://www.standardwebhooks.com)";

export type AttemptOutcome =
  | { kind: "delivered"; status: number }
  | { kind: "held"; retryAfterMs: number }
  | { kind: "skipped"; why: string }
  | { kind: "refused"; reason: string }
  | { kind: "gone" }
  | { kind: "failed"; status: number | null; error: string; final: boolean };

/** The owner hears that their endpoint was turned off (log + alert; platform admins via the notifier). */
async function endpointDisabled(services: Services, endpoint: EndpointRow, why: string): Promise<void> {
  services.logger.warn(
    { event: "webhook_endpoint_disabled", endpointId: endpoint.id, buildingId: endpoint.buildingId, why },
    "webhook endpoint disabled",
  );
  await raiseAlert(services, {
    key: `webhook-disabled:${endpoint.id}`,
    title: "Webhook endpoint disabled",
    detail: `${endpoint.url} (endpoint ${endpoint.id}, building ${endpoint.buildingId ?? "platform"}) was disabled: ${why}`,
  });
  await ownerNotifier?.(services, endpoint, why);
}

export type OwnerNotifier = (services: Services, endpoint: EndpointRow, why: string) => Promise<void>;

/** The endpoint's creator gets a critical `alert` notification (inbox and push). */
const notifyOwner: OwnerNotifier = async (services, endpoint, why) => {
  await enqueueAfterCommit(services, () =>
    notify(services.database.db, {
      type: "alert",
      to: { userIds: [endpoint.createdBy] },
      key: `webhook-disabled:${endpoint.id}:${endpoint.updatedAt.getTime()}`,
      buildingId: endpoint.buildingId,
      values: { title: "Your webhook endpoint was disabled", detail: `${endpoint.url}: ${why}` },
      data: { endpointId: endpoint.id },
    }),
  );
};

let ownerNotifier: OwnerNotifier | undefined = notifyOwner;
/** How an endpoint's creator is told it was disabled (the notifications module installs one). */
export function setOwnerNotifier(fn: OwnerNotifier | undefined): void {
  ownerNotifier = fn;
}

/** One attempt of one message; never throws for the receiver's behaviour (the caller decides). */
export async function attemptDelivery(
  ctx: OutboxHandlerContext,
  messageId: string,
  options: {
    /**
     * HTTP attempts a message gets (1 + the policy's retries). Counted on the message, not the
     * outbox row: a held message continues on a new row, its earlier attempts still count.
     */
    maxAttempts: number;
  },
): Promise<AttemptOutcome> {
  const { services } = ctx;
  const db = services.database.db;
  const [row] = await db
    .select({ message: webhookMessages, endpoint: webhookEndpoints })
    .from(webhookMessages)
    .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookMessages.endpointId))
    .where(eq(webhookMessages.id, messageId));
  if (!row) return { kind: "skipped", why: "no such message" };
  const { message, endpoint } = row;
  if (message.status === "succeeded") return { kind: "skipped", why: "already delivered" };
  const now = services.clock.now();
  if (!endpoint.active && message.eventType !== "ping") {
    await db
      .update(webhookMessages)
      .set({ status: "failed", lastError: "endpoint disabled", updatedAt: now })
      .where(eq(webhookMessages.id, messageId));
    return { kind: "skipped", why: "endpoint disabled" };
  }

  const breaker = endpointBreaker(services, endpoint.id, () => {
    void raiseAlert(services, {
      key: `webhook-breaker:${endpoint.id}`,
      title: "Webhook endpoint circuit open",
      detail: `${endpoint.url} (endpoint ${endpoint.id}) failed 5 times in a row; deliveries are held for 30 s`,
    });
  });
  const admission = await breaker.admit();
  if (!admission.allowed) {
    // Held, not attempted: a new delivery event for when the breaker half-opens.
    await inTransaction(ctx, async (tx) => {
      await tx.db
        .update(webhookMessages)
        .set({ status: "held", updatedAt: now })
        .where(eq(webhookMessages.id, messageId));
      await recordEvents(tx.db, [
        {
          topic: DELIVER_TOPIC,
          buildingId: message.buildingId,
          payload: { messageId },
          correlationId: message.correlationId || ctx.correlationId,
          availableAt: new Date(now.getTime() + admission.retryAfterMs + Math.floor(Math.random() * 250)),
        },
      ]);
    });
    return { kind: "held", retryAfterMs: admission.retryAfterMs };
  }

  const timestamp = Math.floor(now.getTime() / 1000);
  const headers = {
    ...(await signedHeaders({
      id: message.eventId,
      timestamp,
      body: message.body,
      secrets: signingSecrets(endpoint, now),
    })),
    "content-type": "application/json",
    "user-agent": USER_AGENT,
    "x-correlation-id": message.correlationId || ctx.correlationId,
  };
  const started = performance.now();
  let status: number | null = null;
  let responseBody: string | null = null;
  let error: string | null = null;
  let refused: OutboundRefused | null = null;
  try {
    const res = await pinnedRequest(endpoint.url, {
      method: "POST",
      headers,
      body: message.body,
      timeoutMs: services.config.WEBHOOK_TIMEOUT_MS,
      maxBodyBytes: 1024,
      policy: outboundPolicyFrom(services.config),
      agents,
    });
    status = res.status;
    responseBody = res.body;
  } catch (err) {
    if (err instanceof OutboundRefused) {
      refused = err;
      error = `refused (${err.reason}): ${err.message}`;
    } else if (err instanceof OutboundTimeout) {
      error = `timeout: ${err.message}`;
    } else {
      error = `${(err as Error).name ?? "Error"}: ${(err as Error).message ?? String(err)}`;
    }
  }
  const durationMs = Math.round(performance.now() - started);
  const ok = status !== null && status >= 200 && status <= 299;
  const attemptNo = message.attempts + 1;
  const lastAttempt = attemptNo >= options.maxAttempts;
  if (!ok && !error) error = `HTTP ${status}`;

  // The attempt row rides in the message update's statement (a data-modifying CTE): one round
  // trip. Every outcome below settles exactly once.
  const attemptRow = db.$with("attempt_row").as(
    db
      .insert(webhookAttempts)
      .values({
        messageId,
        endpointId: endpoint.id,
        attempt: attemptNo,
        statusCode: status,
        responseBody,
        error: ok ? null : error!.slice(0, 1000),
        durationMs,
      })
      .returning({ id: webhookAttempts.id }),
  );
  const settle = (fields: Partial<typeof webhookMessages.$inferInsert>) =>
    db
      .with(attemptRow)
      .update(webhookMessages)
      .set({
        attempts: attemptNo,
        lastStatusCode: status,
        lastError: ok ? null : error,
        updatedAt: now,
        ...fields,
      })
      .where(eq(webhookMessages.id, messageId));

  if (ok) {
    await settle({ status: "succeeded", deliveredAt: now });
    if (endpoint.failingSince) {
      await db
        .update(webhookEndpoints)
        .set({ failingSince: null })
        .where(eq(webhookEndpoints.id, endpoint.id));
    }
    await breaker.success();
    return { kind: "delivered", status: status! };
  }
  if (refused) {
    // The target itself is not allowed: no retry can fix it, and it says nothing about the receiver.
    await settle({ status: "failed" });
    return { kind: "refused", reason: refused.reason };
  }
  if (status === 410) {
    await settle({ status: "failed" });
    await db
      .update(webhookEndpoints)
      .set({ active: false, disabledReason: "gone", updatedAt: now })
      .where(eq(webhookEndpoints.id, endpoint.id));
    await endpointDisabled(services, endpoint, "the receiver answered 410 Gone");
    return { kind: "gone" };
  }

  await breaker.failure();
  if (status !== null && status >= 500) {
    await countTowardBurst(services, `webhook-5xx:${endpoint.id}`, {
      threshold: 5,
      windowMs: 60_000,
      title: "Webhook receiver 5xx burst",
      detail: `${endpoint.url} (endpoint ${endpoint.id}) answered 5xx at least 5 times within a minute`,
    });
  }
  const [updated] = await db
    .update(webhookEndpoints)
    .set({ failingSince: sql`coalesce(${webhookEndpoints.failingSince}, ${now.toISOString()}::timestamptz)` })
    .where(eq(webhookEndpoints.id, endpoint.id))
    .returning({ failingSince: webhookEndpoints.failingSince });
  const failingFor = now.getTime() - (updated?.failingSince?.getTime() ?? now.getTime());
  const limitMs = services.config.WEBHOOK_DISABLE_AFTER_HOURS * 3600 * 1000;
  if (limitMs > 0 && failingFor >= limitMs && endpoint.active) {
    await settle({ status: "failed" });
    await db
      .update(webhookEndpoints)
      .set({ active: false, disabledReason: "failing", updatedAt: now })
      .where(eq(webhookEndpoints.id, endpoint.id));
    await endpointDisabled(
      services,
      endpoint,
      `no successful delivery for ${Math.round(failingFor / 3_600_000)} hours of failures`,
    );
    return { kind: "failed", status, error: error!, final: true };
  }
  await settle({ status: lastAttempt ? "failed" : "pending" });
  return { kind: "failed", status, error: error!, final: lastAttempt };
}

let registered = false;

/** Registers the `webhooks.deliver` handler (once per process). */
export function registerWebhookDelivery(): void {
  if (registered) return;
  registered = true;
  const policy = policyFor(DELIVER_TOPIC);
  outboxHandlers.register(DELIVER_TOPIC, {
    payload: DeliverPayloadSchema,
    async handle(payload, ctx) {
      const outcome = await attemptDelivery(ctx, payload.messageId, { maxAttempts: 1 + policy.retries });
      switch (outcome.kind) {
        case "refused":
          throw new PermanentDeliveryError(`webhook target refused: ${outcome.reason}`);
        case "gone":
          throw new PermanentDeliveryError("receiver answered 410 Gone; endpoint disabled");
        case "failed":
          if (outcome.final) throw new PermanentDeliveryError(`webhook delivery failed: ${outcome.error}`);
          throw new Error(`webhook delivery failed: ${outcome.error}`);
        default:
          return;
      }
    },
  });
}

registerWebhookDelivery();
