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
import { eq, sql } from "drizzle-orm";
import { z } from "zod";
import { preparedSql } from "../../platform/db/prepared";
import { OutboundTimeout, pinnedRequest } from "../../platform/net/pinned-fetch";
import { type OutboundPolicy, OutboundRefused, outboundPolicyFrom } from "../../platform/net/ssrf";
import type { Services } from "../../services";
import { inTransaction } from "../../verbs";
import { notify } from "../notifications/notify";
import { policyFor } from "../outbox/policies";
import { enqueueAfterCommit, recordEvents } from "../outbox/record";
import { type OutboxHandlerContext, outboxHandlers, PermanentDeliveryError } from "../outbox/registry";
import { countTowardBurst, raiseAlert } from "./alerts";
import { setSyncHmac, signedHeaders } from "./signing";
import { webhookEndpoints, webhookMessages } from "./tables";
import { DELIVER_TOPIC, type EndpointRow, endpointBreaker } from "./verbs";

export const DeliverPayloadSchema = z.object({ messageId: z.uuid(), ping: z.boolean().optional() });

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

/** What one attempt needs of its message and endpoint: the hot read, narrow (./deliver.ts). */
interface AttemptRow {
  status: string;
  attempts: number;
  event_id: string;
  event_type: string;
  body: string;
  correlation_id: string;
  building_id: string | null;
  endpoint_id: string;
  url: string;
  active: boolean;
  secret: string;
  /** The secret before a rotation, only while it still signs (expiry compared in SQL to `now`). */
  previous_secret: string | null;
  failing: boolean;
}

/*
 * The two statements every attempt pays, written out and prepared (named on node-postgres: each
 * pooled connection parses and plans them once). Drizzle's builder cost ~0.5 ms of CPU per
 * attempt for the join and the CTE update (test/bench/webhooks.bench.ts); these cost what the
 * driver does. The endpoint is read fresh on every attempt (a disabled endpoint is not sent to, a
 * rotated secret signs at once); the rare paths (disable, hold) stay in Drizzle.
 */
const loadAttempt = preparedSql<AttemptRow>(
  "horizon_webhooks_attempt_load_v1",
  () =>
    sql.raw(`select m.status, m.attempts, m.event_id, m.event_type, m.body, m.correlation_id,
      m.building_id, m.endpoint_id, e.url, e.active, e.secret,
      case when e.previous_secret_expires_at > $2::timestamptz then e.previous_secret end as previous_secret,
      e.failing_since is not null as failing
    from webhook_messages m join webhook_endpoints e on e.id = m.endpoint_id
    where m.id = $1::uuid`),
  ["messageId", "now"],
);

/** The attempt row rides in the message update's statement (a data-modifying CTE): one round trip. */
const settleAttempt = preparedSql<never>(
  "horizon_webhooks_attempt_settle_v1",
  () =>
    sql.raw(`with attempt_row as (
      insert into webhook_attempts (message_id, endpoint_id, attempt, status_code, response_body, error, duration_ms)
      values ($1::uuid, $2::uuid, $3::integer, $4::integer, $5::text, $6::text, $7::integer)
    )
    update webhook_messages set attempts = $3::integer, last_status_code = $4::integer, last_error = $8::text,
      updated_at = $9::timestamptz, status = $10::text,
      delivered_at = case when $11::boolean then $9::timestamptz else delivered_at end
    where id = $1::uuid`),
  [
    "messageId",
    "endpointId",
    "attempt",
    "statusCode",
    "responseBody",
    "attemptError",
    "durationMs",
    "lastError",
    "now",
    "status",
    "delivered",
  ],
);

/** The endpoint turned off (410, or failing too long), read back whole for its owner's notice. */
async function disableEndpoint(
  services: Services,
  endpointId: string,
  reason: "gone" | "failing",
  now: Date,
): Promise<EndpointRow | undefined> {
  const [row] = await services.database.db
    .update(webhookEndpoints)
    .set({ active: false, disabledReason: reason, updatedAt: now })
    .where(eq(webhookEndpoints.id, endpointId))
    .returning();
  return row;
}

/** One attempt of one message; never throws for the receiver's behaviour (the caller decides). */
export async function attemptDelivery(
  ctx: OutboxHandlerContext,
  messageId: string,
  options: {
    /**
     * HTTP attempts a message gets (1 + the policy's retries). Counted on the message, not the
     * outbox row: a held message continues on a new outbox row, its earlier attempts still count.
     */
    maxAttempts: number;
  },
): Promise<AttemptOutcome> {
  const { services } = ctx;
  const db = services.database.db;
  const now = services.clock.now();
  const nowIso = now.toISOString();
  const [message] = await loadAttempt(db, { messageId, now: nowIso });
  if (!message) return { kind: "skipped", why: "no such message" };
  if (message.status === "succeeded") return { kind: "skipped", why: "already delivered" };
  const endpointId = message.endpoint_id;
  const url = message.url;
  if (!message.active && message.event_type !== "ping") {
    await db
      .update(webhookMessages)
      .set({ status: "failed", lastError: "endpoint disabled", updatedAt: now })
      .where(eq(webhookMessages.id, messageId));
    return { kind: "skipped", why: "endpoint disabled" };
  }
  const correlationId = message.correlation_id || ctx.correlationId;

  const breaker = endpointBreaker(services, endpointId, () => {
    void raiseAlert(services, {
      key: `webhook-breaker:${endpointId}`,
      title: "Webhook endpoint circuit open",
      detail: `${url} (endpoint ${endpointId}) failed 5 times in a row; deliveries are held for 30 s`,
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
          buildingId: message.building_id,
          payload: { messageId },
          correlationId,
          availableAt: new Date(now.getTime() + admission.retryAfterMs + Math.floor(Math.random() * 250)),
        },
      ]);
    });
    return { kind: "held", retryAfterMs: admission.retryAfterMs };
  }

  const timestamp = Math.floor(now.getTime() / 1000);
  const headers = {
    ...(await signedHeaders({
      id: message.event_id,
      timestamp,
      body: message.body,
      secrets: message.previous_secret ? [message.secret, message.previous_secret] : [message.secret],
    })),
    "content-type": "application/json",
    "user-agent": USER_AGENT,
    "x-correlation-id": correlationId,
  };
  const started = performance.now();
  let status: number | null = null;
  let responseBody: string | null = null;
  let error: string | null = null;
  let refused: OutboundRefused | null = null;
  try {
    const res = await pinnedRequest(url, {
      method: "POST",
      headers,
      body: message.body,
      timeoutMs: services.config.WEBHOOK_TIMEOUT_MS,
      maxBodyBytes: 1024,
      policy: policyOf(services),
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

  // Every outcome below settles exactly once.
  const settle = (outcome: "succeeded" | "failed" | "pending") =>
    settleAttempt(db, {
      messageId,
      endpointId,
      attempt: attemptNo,
      statusCode: status,
      responseBody,
      attemptError: ok ? null : error!.slice(0, 1000),
      durationMs,
      lastError: ok ? null : error,
      now: nowIso,
      status: outcome,
      delivered: outcome === "succeeded",
    });

  if (ok) {
    await settle("succeeded");
    if (message.failing) {
      await db
        .update(webhookEndpoints)
        .set({ failingSince: null })
        .where(eq(webhookEndpoints.id, endpointId));
    }
    await breaker.success(admission);
    return { kind: "delivered", status: status! };
  }
  if (refused) {
    // The target itself is not allowed: no retry can fix it, and it says nothing about the receiver.
    await settle("failed");
    return { kind: "refused", reason: refused.reason };
  }
  if (status === 410) {
    await settle("failed");
    const endpoint = await disableEndpoint(services, endpointId, "gone", now);
    if (endpoint) await endpointDisabled(services, endpoint, "the receiver answered 410 Gone");
    return { kind: "gone" };
  }

  await breaker.failure();
  if (status !== null && status >= 500) {
    await countTowardBurst(services, `webhook-5xx:${endpointId}`, {
      threshold: 5,
      windowMs: 60_000,
      title: "Webhook receiver 5xx burst",
      detail: `${url} (endpoint ${endpointId}) answered 5xx at least 5 times within a minute`,
    });
  }
  const [updated] = await db
    .update(webhookEndpoints)
    .set({ failingSince: sql`coalesce(${webhookEndpoints.failingSince}, ${nowIso}::timestamptz)` })
    .where(eq(webhookEndpoints.id, endpointId))
    .returning({ failingSince: webhookEndpoints.failingSince });
  const failingFor = now.getTime() - (updated?.failingSince?.getTime() ?? now.getTime());
  const limitMs = services.config.WEBHOOK_DISABLE_AFTER_HOURS * 3600 * 1000;
  if (limitMs > 0 && failingFor >= limitMs && message.active) {
    await settle("failed");
    const endpoint = await disableEndpoint(services, endpointId, "failing", now);
    if (endpoint) {
      await endpointDisabled(
        services,
        endpoint,
        `no successful delivery for ${Math.round(failingFor / 3_600_000)} hours of failures`,
      );
    }
    return { kind: "failed", status, error: error!, final: true };
  }
  await settle(lastAttempt ? "failed" : "pending");
  return { kind: "failed", status, error: error!, final: lastAttempt };
}

/** The outbound policy of a config, parsed once per config object (it is read on every attempt). */
const policies = new WeakMap<object, OutboundPolicy>();
function policyOf(services: Services): OutboundPolicy {
  let policy = policies.get(services.config);
  if (!policy) {
    policy = outboundPolicyFrom(services.config);
    policies.set(services.config, policy);
  }
  return policy;
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
