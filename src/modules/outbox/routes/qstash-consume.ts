/**
 * The QStash consumer: QStash calls `POST /queue/qstash/deliver` for each published outbox event
 * (body `{ id, topic }`, see platform/queue/qstash.ts) and `POST /queue/qstash/failed` once it
 * gave up. Both verify `Upstash-Signature` with the real Receiver (current and next signing key,
 * subject = this exact URL, body hash, expiry) and refuse a JWT seen before; anything that fails
 * is 401 problem+json and runs nothing. Delivery is the queue port's `deliver(id)`, idempotent by
 * outbox id: 2xx when the event is settled (delivered now or before, dead, or unknown), 503 while
 * it is not, so QStash retries on the topic's schedule.
 *
 * Not in /openapi.json: these are callbacks signed by QStash, not part of the client API.
 */
import { Receiver } from "@upstash/qstash";
import type { Context } from "hono";
import { decodeJwt } from "jose";
import { z } from "zod";
import type { Config } from "../../../config";
import { ApiError } from "../../../errors";
import type { App, AppEnv } from "../../../http/env";
import type { QueueConsumer } from "../../../platform/queue";
import type { Services } from "../../../services";

export const QSTASH_DELIVER_PATH = "/queue/qstash/deliver";
export const QSTASH_FAILED_PATH = "/queue/qstash/failed";

/**
 * The URLs QStash calls back for an event of `topic`: the job service (QSTASH_JOBS_URL) for the
 * topic families whose handlers need Node APIs (QSTASH_JOBS_FAMILIES: push senders, image
 * processing, webhook delivery), else QSTASH_CONSUMER_URL (the host publishing).
 */
export function qstashConsumerUrls(config: Config, topic?: string): { deliver: string; failed: string } {
  const family = topic === undefined ? undefined : topic.split(".", 1)[0]!;
  const toJobs = Boolean(config.QSTASH_JOBS_URL) && family !== undefined && jobsFamilies(config).has(family);
  const base = ((toJobs ? config.QSTASH_JOBS_URL : config.QSTASH_CONSUMER_URL) ?? "").replace(/\/+$/, "");
  return { deliver: `${base}${QSTASH_DELIVER_PATH}`, failed: `${base}${QSTASH_FAILED_PATH}` };
}

const familySets = new WeakMap<Config, Set<string>>();
function jobsFamilies(config: Config): Set<string> {
  let set = familySets.get(config);
  if (!set) {
    set = new Set(
      config.QSTASH_JOBS_FAMILIES.split(",")
        .map((f) => f.trim())
        .filter(Boolean),
    );
    familySets.set(config, set);
  }
  return set;
}

export interface QStashConsumerOptions {
  /** The outbox consumer over this request's services (the one the in-process loop uses). */
  consumerFor: (services: Services) => QueueConsumer;
}

const EventBody = z.object({ id: z.string().min(1).max(64), topic: z.string().max(200).optional() });
/** What QStash posts to the failure callback (only the members we read). */
const FailureBody = z.object({
  status: z.number().optional(),
  retried: z.number().optional(),
  sourceMessageId: z.string().optional(),
  sourceBody: z.string(),
});

const receivers = new WeakMap<Config, Receiver>();
function receiverFor(config: Config): Receiver {
  let r = receivers.get(config);
  if (!r) {
    if (!config.QSTASH_CURRENT_SIGNING_KEY || !config.QSTASH_NEXT_SIGNING_KEY)
      throw new ApiError("NOT_READY", "QStash signing keys are not configured");
    r = new Receiver({
      currentSigningKey: config.QSTASH_CURRENT_SIGNING_KEY,
      nextSigningKey: config.QSTASH_NEXT_SIGNING_KEY,
      // Never QStash's dev keys because QSTASH_DEV happens to be set: the config decides.
      devMode: false,
    });
    receivers.set(config, r);
  }
  return r;
}

/** Allowance for QStash's clock ahead of ours when a JWT's iat/nbf is checked. */
const CLOCK_TOLERANCE_SECONDS = 5;

/**
 * Verifies the callback and answers its raw body. The JWT id is remembered until the token
 * expires, so a captured callback replayed within its 5 minutes is refused too (each QStash
 * attempt, retries included, carries a fresh JWT).
 */
async function verifiedBody(c: Context<AppEnv>, path: string): Promise<string> {
  const services = c.get("services");
  const receiver = receiverFor(services.config);
  const signature = c.req.header("upstash-signature");
  const body = await c.req.text();
  const refuse = (reason: string) => {
    services.logger.warn(
      {
        event: "qstash_signature_refused",
        path,
        reason,
        messageId: c.req.header("upstash-message-id") ?? null,
      },
      "QStash callback refused",
    );
    return new ApiError("UNAUTHENTICATED", "invalid or missing Upstash-Signature");
  };
  if (!signature) throw refuse("missing Upstash-Signature");
  const url = services.config.QSTASH_CONSUMER_URL
    ? `${services.config.QSTASH_CONSUMER_URL.replace(/\/+$/, "")}${path}`
    : c.req.url;
  try {
    await receiver.verify({ signature, body, url, clockTolerance: CLOCK_TOLERANCE_SECONDS });
  } catch (err) {
    throw refuse(err instanceof Error ? err.message : String(err));
  }
  const { jti, exp } = decodeJwt(signature);
  if (!jti) throw refuse("no jti");
  const ttlMs = Math.max(1_000, (exp ?? 0) * 1000 - Date.now() + CLOCK_TOLERANCE_SECONDS * 1000);
  const first = await services.kv.set(`qstash:jti:${jti}`, "1", { onlyIfAbsent: true, ttlMs });
  if (!first) throw refuse("replayed");
  return body;
}

function parse<T>(schema: z.ZodType<T>, raw: string): T {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new ApiError("MALFORMED_JSON", "the callback body is not JSON");
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new ApiError("VALIDATION_FAILED", "the callback body is not an outbox event");
  return parsed.data;
}

/** Base64 to UTF-8 without Buffer (the edge host runs this route too). */
function fromBase64(b64: string): string {
  try {
    return new TextDecoder().decode(Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0)));
  } catch {
    return "";
  }
}

export function registerQStashConsumer(app: App, options: QStashConsumerOptions) {
  app.post(QSTASH_DELIVER_PATH, async (c) => {
    const services = c.get("services");
    const event = parse(EventBody, await verifiedBody(c, QSTASH_DELIVER_PATH));
    const outcome = await options.consumerFor(services).deliver(event.id, { via: "qstash" });
    services.logger.info(
      {
        event: "qstash_delivery",
        outboxId: event.id,
        topic: event.topic ?? null,
        outcome: outcome.status,
        messageId: c.req.header("upstash-message-id") ?? null,
        retried: Number(c.req.header("upstash-retried") ?? 0),
      },
      `outbox event ${outcome.status}`,
    );
    c.header("Cache-Control", "no-store");
    if (outcome.status === "retry") {
      // Not settled: QStash retries on the topic's schedule (the row's own backoff matches it).
      const seconds = Math.max(1, Math.ceil((outcome.retryAt.getTime() - Date.now()) / 1000));
      throw new ApiError("DEPENDENCY_UNAVAILABLE", "the event is not delivered yet; retry", {
        headers: { "Retry-After": String(seconds) },
      });
    }
    return c.json({ id: event.id, status: outcome.status }, 200);
  });

  app.post(QSTASH_FAILED_PATH, async (c) => {
    const services = c.get("services");
    const failure = parse(FailureBody, await verifiedBody(c, QSTASH_FAILED_PATH));
    const event = parse(EventBody, fromBase64(failure.sourceBody));
    const attempts = (failure.retried ?? 0) + 1;
    const error = `QStash gave up after ${attempts} attempt(s); last answer ${failure.status ?? "none"}`;
    await options.consumerFor(services).markDead(event.id, error);
    services.logger.warn(
      {
        event: "qstash_failed",
        outboxId: event.id,
        topic: event.topic ?? null,
        messageId: failure.sourceMessageId ?? null,
        attempts,
        lastStatus: failure.status ?? null,
      },
      "QStash gave up on an outbox event: marked dead",
    );
    c.header("Cache-Control", "no-store");
    return c.json({ id: event.id, status: "dead" as const }, 200);
  });
}
