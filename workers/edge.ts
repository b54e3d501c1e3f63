/**
 * Edge host: the Cloudflare Worker. Neon serverless (HTTP for single statements, the WebSocket
 * Pool for transactions: src/platform/db/neon.ts) and Upstash Redis (REST), wired from bindings.
 * Workers forbid sharing I/O objects between requests, so the Pool (opened only by a transaction)
 * lives for one request and is closed after the response; config, logger and kv are kept per isolate.
 * The cache is per request too: its single-flight shares computations that run on the request's
 * Pool, and a stale entry's background refresh runs under the request's waitUntil, with the Pool
 * closed only once that refresh has settled.
 * The hourly Cron Trigger (wrangler.toml) runs the sync retention (tombstones, op records) the same way.
 *
 * The app is built once per isolate (createApp costs 1–3 ms of CPU: PLATFORM-FACTS); a middleware
 * gives each request its own services. Outbox delivery (ADR 0003):
 *   - QSTASH_TOKEN set: events a write recorded are published to QStash after commit, under
 *     waitUntil (the response does not wait for QStash); with the signing keys set, QStash calls
 *     back this Worker's consumer routes (/queue/qstash/*, QSTASH_CONSUMER_URL). The every-minute
 *     cron republishes rows not published within 30 s (publish failed, isolate ended first).
 *   - No QStash: realtime pokes are still published right after commit; a row that publish missed
 *     is delivered by the every-minute cron here in the Worker, with its topic's retry policy
 *     (one attempt per minute), provided the Worker registers a handler for its topic. Rows of
 *     other topics (handlers that need Node: the job service) stay pending and show in
 *     /health/ready's backlog until QStash is configured. Delivered rows are pruned hourly.
 */
import type { ExecutionContext, ScheduledController } from "@cloudflare/workers-types";
// Compiled by wrangler's bundler into WebAssembly.Module imports: workerd runs those, where it
// refuses to compile WASM at run time (the reason the edge used pure-JS noble before, ~250 ms a hash).
import argon2NoSimd from "argon2id/dist/no-simd.wasm";
import argon2Simd from "argon2id/dist/simd.wasm";
import type { MiddlewareHandler } from "hono";
import { createApp } from "../src/app";
import { type Config, ConfigError, parseConfig } from "../src/config";
import { ApiError } from "../src/errors";
import type { App, AppEnv } from "../src/http/env";
import { problemResponse } from "../src/http/errors";
import {
  correlationIdOf,
  headersTooLarge,
  MAX_REQUEST_HEAD_BYTES,
  requestHeadBytes,
} from "../src/http/host-errors";
import { runFilesHousekeeping } from "../src/modules/files/housekeeping";
import { recordDuePayments } from "../src/modules/notifications/due-payments";
import { pruneDelivered } from "../src/modules/outbox/admin";
import { createOutboxConsumer } from "../src/modules/outbox/consumer";
import { outboxHandlers } from "../src/modules/outbox/registry";
import { qstashConsumerUrls, registerQStashConsumer } from "../src/modules/outbox/routes/qstash-consume";
import { runSyncRetention } from "../src/modules/sync/purge-job";
import { publishDueAnnouncements } from "../src/modules/sync/scheduled";
import { alertOnDeadEvents } from "../src/modules/webhooks/alerts";
import { createCache } from "../src/platform/cache";
import { createNeonDatabase } from "../src/platform/db/neon";
import type { Kv } from "../src/platform/kv";
import { kvBreakerLog } from "../src/platform/kv/guard";
import { createUpstashKv } from "../src/platform/kv/upstash";
import type { Logger } from "../src/platform/log";
import { createJsonLogger } from "../src/platform/log/json";
import type { PasswordHasher } from "../src/platform/password";
import { createArgon2idWasmHasher } from "../src/platform/password/argon2id-wasm";
import type { QueueConsumer, QueueTransport } from "../src/platform/queue";
import { createQStashQueue, sweepUnpublished } from "../src/platform/queue/qstash";
import type { RateLimiter } from "../src/platform/ratelimit";
import { createUpstashRateLimiter } from "../src/platform/ratelimit/upstash";
import type { RealtimeBus } from "../src/platform/realtime";
import { memoryBusFor } from "../src/platform/realtime/memory";
import { createPartyKitBus } from "../src/platform/realtime/partykit";
import type { ObjectStorage } from "../src/platform/storage";
import { s3StorageFor, wantsS3 } from "../src/platform/storage/select";
import { APP_VERSION, assembleServices, type Services } from "../src/services";

/** wrangler.toml's every-minute Cron Trigger (scheduled announcements only; the other runs retention too). */
const EVERY_MINUTE = "* * * * *";
/** A pending row not published (QStash) or delivered (in-Worker) this long after it was due is swept. */
const UNPUBLISHED_AFTER_MS = 30_000;

interface Isolate {
  config: Config;
  logger: Logger;
  kv: Kv;
  /** argon2id in WASM imported from the bundle (same PHC strings as hash-wasm and noble). */
  passwords: PasswordHasher;
  /** One @upstash/ratelimit per isolate: counters live in Upstash, shared by every isolate. */
  rateLimiter: RateLimiter;
  startedAt: number;
  /** Rooms live on PartyKit: publishing is an HTTP POST to the room with the shared secret. */
  realtime?: RealtimeBus;
  /** S3/R2 (fetch-based): presigns uploads and downloads; unset without S3 config (files answer 503). */
  storage?: ObjectStorage;
  /** Built on the isolate's first request, then served to every request after it. */
  app?: App;
}

let isolate: { env: unknown; value: Isolate | ConfigError } | undefined;

function requireEdge(config: Config): Config {
  const missing = (
    ["DATABASE_URL", "UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN", "JWT_SECRET"] as const
  ).filter((k) => !config[k]);
  if (missing.length)
    throw new ConfigError(missing.map((variable) => ({ variable, message: "required on the edge" })));
  return config;
}

function setup(env: Record<string, unknown>): Isolate | ConfigError {
  if (isolate?.env === env) return isolate.value;
  let value: Isolate | ConfigError;
  try {
    const config = requireEdge(parseConfig(env));
    const logger = createJsonLogger({ level: config.LOG_LEVEL });
    value = {
      config,
      logger,
      kv: createUpstashKv({
        url: config.UPSTASH_REDIS_REST_URL!,
        token: config.UPSTASH_REDIS_REST_TOKEN!,
        prefix: config.KV_PREFIX,
        timeoutMs: config.KV_TIMEOUT_MS,
        breaker: { onStateChange: kvBreakerLog(logger) },
      }),
      passwords: createArgon2idWasmHasher({ simd: argon2Simd, noSimd: argon2NoSimd }),
      rateLimiter: createUpstashRateLimiter({
        url: config.UPSTASH_REDIS_REST_URL!,
        token: config.UPSTASH_REDIS_REST_TOKEN!,
        prefix: `${config.KV_PREFIX}rl`,
      }),
      startedAt: Date.now(),
      ...(wantsS3(config) ? { storage: s3StorageFor(config) } : {}),
      ...(config.PARTYKIT_HOST && config.PARTYKIT_SECRET
        ? { realtime: createPartyKitBus({ host: config.PARTYKIT_HOST, secret: config.PARTYKIT_SECRET }) }
        : {}),
    };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    value = err;
  }
  isolate = { env, value };
  return value;
}

function logBadEnvironment(err: ConfigError): void {
  console.error(JSON.stringify({ level: "fatal", time: new Date().toISOString(), msg: err.message }));
}

interface WaitUntil {
  waitUntil(promise: Promise<unknown>): void;
}

/** The QStash transport over one invocation's services (it marks what QStash accepted on their Pool). */
function qstashTransport(config: Config, services: Services): QueueTransport {
  return createQStashQueue({
    token: config.QSTASH_TOKEN!,
    ...(config.QSTASH_URL ? { baseUrl: config.QSTASH_URL } : {}),
    deliverUrl: (event) => qstashConsumerUrls(config, event.topic).deliver,
    failureUrl: (event) => qstashConsumerUrls(config, event.topic).failed,
    markPublished: (ids) => createOutboxConsumer(services).markPublished(ids),
    logger: services.logger,
  });
}

/**
 * Services for one invocation: a fresh Neon Pool and cache, the rest per isolate. `close` ends the
 * Pool after the work the invocation deferred (cache refreshes, QStash publishes) has settled;
 * hand it to waitUntil.
 */
function invocationServices(
  state: Isolate,
  ctx: WaitUntil,
  logger = state.logger,
): { services: Services; close(): Promise<void> } {
  const database = createNeonDatabase({
    url: state.config.DATABASE_URL!,
    wsProxy: state.config.NEON_WS_PROXY,
    http: state.config.NEON_HTTP,
  });
  const deferred: Promise<unknown>[] = [];
  const cache = createCache({
    kv: state.kv,
    defaultStaleMs: state.config.CACHE_STALE_SECONDS * 1000,
    onError: (err, key) => logger.warn({ event: "cache_degraded", key, err: String(err) }, "cache degraded"),
    defer: (work) => void deferred.push(work),
  });
  const services = assembleServices({
    config: state.config,
    database,
    kv: state.kv,
    cache,
    logger,
    passwords: state.passwords,
    rateLimiter: state.rateLimiter,
    runtime: "workerd",
    // Without PartyKit, an in-isolate bus (SSE streams of this isolate subscribe to it).
    realtime: state.realtime ?? memoryBusFor(state.config),
    startedAt: state.startedAt,
    ...(state.storage
      ? { storage: state.storage, readiness: [{ name: "storage", check: () => state.storage!.check() }] }
      : {}),
  });
  if (state.config.QSTASH_TOKEN) {
    let transport: QueueTransport | undefined;
    services.queue = {
      kind: "qstash",
      // After commit: the publish runs under waitUntil rather than before the response, and the
      // Pool stays open until it has marked what QStash accepted. Whatever it misses, the
      // every-minute cron publishes again.
      enqueue(events) {
        transport ??= qstashTransport(state.config, services);
        const publishing = transport.enqueue(events);
        ctx.waitUntil(publishing);
        deferred.push(publishing);
        return Promise.resolve();
      },
      close: () => transport?.close() ?? Promise.resolve(),
    };
  }
  const close = async () => {
    while (deferred.length) await Promise.allSettled(deferred.splice(0));
    await database.close();
  };
  return { services, close };
}

/** Gives each request its invocation's services; their Pool closes once the request's deferred work is done. */
function edgeServices(state: Isolate): MiddlewareHandler<AppEnv> {
  return async function edgeServicesMiddleware(c, next) {
    const ctx = c.executionCtx;
    const { services, close } = invocationServices(state, ctx);
    c.set("services", services);
    try {
      await next();
    } finally {
      ctx.waitUntil(close());
    }
  };
}

/** The isolate's app, built on its first request: routes, OpenAPI registry and middleware once. */
function appOf(state: Isolate): App {
  if (state.app) return state.app;
  const app = createApp({ config: state.config, version: APP_VERSION }, { services: edgeServices(state) });
  const qstashCallbacks = Boolean(state.config.QSTASH_CURRENT_SIGNING_KEY);
  if (qstashCallbacks)
    registerQStashConsumer(app, { consumerFor: (services) => createOutboxConsumer(services) });
  state.app = app;
  state.logger.info({ event: "app_built", qstashCallbacks }, "edge app built for this isolate");
  return app;
}

/**
 * Without QStash, the cron is the Worker's transport: rows due for a while and never delivered
 * (the publish right after commit failed, the isolate ended) are delivered here, one attempt per
 * run, for the topics this Worker has handlers for (realtime, sync conflicts); the consumer
 * reschedules a failure with the topic's policy and ends it dead after the last attempt.
 */
async function deliverInWorker(consumer: QueueConsumer, logger: Logger): Promise<void> {
  const stale = await consumer.stalePending({ olderThanMs: UNPUBLISHED_AFTER_MS, limit: 500 });
  const outcomes: Record<string, number> = {};
  for (const event of stale) {
    if (!outboxHandlers.get(event.topic)) continue;
    const { status } = await consumer.deliver(event.id);
    outcomes[status] = (outcomes[status] ?? 0) + 1;
  }
  if (stale.length)
    logger.info(
      { event: "outbox_cron_delivered", stale: stale.length, outcomes },
      "outbox rows delivered by the cron",
    );
}

/**
 * A request pinned to a version (the deploy's probes send Cloudflare-Workers-Version-Overrides)
 * learns which version answered, from the version metadata binding (wrangler.toml
 * `[env.*.version_metadata]`): the rollout refuses to promote on probes another version served.
 */
function tagVersion(request: Request, res: Response, metadata: unknown): Response {
  const id = (metadata as { id?: unknown } | undefined)?.id;
  if (
    typeof id !== "string" ||
    !request.headers.has("cloudflare-workers-version-overrides") ||
    res.status === 101
  )
    return res;
  const headers = new Headers(res.headers);
  headers.set("x-horizon-version", id);
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}

export default {
  async fetch(request: Request, env: Record<string, unknown>, ctx: ExecutionContext): Promise<Response> {
    // The same head limit as the standalone host, answered as a problem document (larger heads
    // never reach a Worker: the runtime answers those itself).
    if (requestHeadBytes(request) > MAX_REQUEST_HEAD_BYTES)
      return headersTooLarge(correlationIdOf(request.headers));
    const state = setup(env);
    if (state instanceof ConfigError) {
      logBadEnvironment(state);
      const variables = state.issues.map((i) => i.variable);
      return problemResponse(
        new ApiError("BAD_ENVIRONMENT", `the worker's environment is invalid: ${variables.join(", ")}`, {
          extensions: { variables },
        }),
        request.headers.get("x-correlation-id") ?? crypto.randomUUID(),
      );
    }
    const res = await appOf(state).fetch(request, env, ctx);
    return tagVersion(request, res, env.CF_VERSION_METADATA);
  },

  /**
   * Cron Triggers (wrangler.toml `[triggers]`): every minute, scheduled announcements that became
   * due get their version (sync/scheduled.ts), so residents receive them within a minute; the
   * hourly trigger also runs sync retention (expired tombstones and op records), files
   * housekeeping (expired uploads, old quarantine, files of deleted parents) and prunes
   * delivered outbox rows. Every minute, outbox rows still pending after 30 s are published to
   * QStash again, or without QStash delivered here (see the header).
   */
  async scheduled(controller: ScheduledController, env: Record<string, unknown>, ctx: ExecutionContext) {
    const state = setup(env);
    if (state instanceof ConfigError) {
      logBadEnvironment(state);
      return;
    }
    const { services, close } = invocationServices(state, ctx, state.logger.child({ cron: controller.cron }));
    const publish = publishDueAnnouncements(services).catch((err) =>
      services.logger.warn(
        { event: "scheduled_publish_failed", err: String(err) },
        "scheduled publish failed",
      ),
    );
    const dues = recordDuePayments(services).catch((err) =>
      services.logger.warn({ event: "payment_due_failed", err: String(err) }, "payment due sweep failed"),
    );
    // Events that went dead since the previous minute raise a throttled alert.
    const dead = alertOnDeadEvents(services, new Date(controller.scheduledTime - 60_000)).catch((err) =>
      services.logger.warn({ event: "dead_alert_failed", err: String(err) }, "dead-event alert check failed"),
    );
    const hourly = controller.cron !== EVERY_MINUTE;
    const retention = hourly ? runSyncRetention(services) : undefined;
    const files = hourly
      ? runFilesHousekeeping(services).catch((err) =>
          services.logger.warn(
            { event: "files_housekeeping_failed", err: String(err) },
            "files housekeeping failed",
          ),
        )
      : undefined;
    const consumer = createOutboxConsumer(services);
    const outbox = (
      hourly
        ? pruneDelivered(services).then((pruned) =>
            services.logger.info({ event: "outbox_pruned", pruned }, "delivered outbox rows pruned"),
          )
        : state.config.QSTASH_TOKEN
          ? sweepUnpublished(consumer, qstashTransport(state.config, services), {
              olderThanMs: UNPUBLISHED_AFTER_MS,
            }).then((swept) => {
              if (swept)
                services.logger.info(
                  { event: "outbox_swept", swept },
                  "unpublished outbox rows sent to QStash",
                );
            })
          : deliverInWorker(consumer, services.logger)
    ).catch((err) =>
      services.logger.warn({ event: "outbox_cron_failed", err: String(err) }, "outbox cron run failed"),
    );
    ctx.waitUntil(Promise.all([publish, dues, dead, retention, files, outbox]).finally(close));
  },
};
