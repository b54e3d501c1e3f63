/**
 * Edge host: the Cloudflare Worker. Neon serverless Pool (WebSocket) and Upstash Redis (REST),
 * wired from bindings. Workers forbid sharing I/O objects between requests, so the Pool lives
 * for one request and is closed after the response; config, logger and kv are kept per isolate.
 * The cache is per request too: its single-flight shares computations that run on the request's
 * Pool, and a stale entry's background refresh runs under the request's waitUntil, with the Pool
 * closed only once that refresh has settled.
 * The hourly Cron Trigger (wrangler.toml) runs the sync retention (tombstones, op records) the same way.
 */
import type { ExecutionContext, ScheduledController } from "@cloudflare/workers-types";
import { createApp } from "../src/app";
import { type Config, ConfigError, parseConfig } from "../src/config";
import { ApiError, problemResponse } from "../src/http/errors";
import {
  correlationIdOf,
  headersTooLarge,
  MAX_REQUEST_HEAD_BYTES,
  requestHeadBytes,
} from "../src/http/host-errors";
import { runSyncRetention } from "../src/modules/sync/purge-job";
import { publishDueAnnouncements } from "../src/modules/sync/scheduled";
import { createCache } from "../src/platform/cache";
import { createNeonDatabase } from "../src/platform/db/neon";
import type { Kv } from "../src/platform/kv";
import { kvBreakerLog } from "../src/platform/kv/guard";
import { createUpstashKv } from "../src/platform/kv/upstash";
import type { Logger } from "../src/platform/log";
import { createJsonLogger } from "../src/platform/log/json";
import type { PasswordHasher } from "../src/platform/password";
import { createNobleHasher } from "../src/platform/password/noble";
import type { RateLimiter } from "../src/platform/ratelimit";
import { createUpstashRateLimiter } from "../src/platform/ratelimit/upstash";
import type { RealtimeBus } from "../src/platform/realtime";
import { createPartyKitBus } from "../src/platform/realtime/partykit";
import { assembleServices, type Services } from "../src/services";

/** wrangler.toml's every-minute Cron Trigger (scheduled announcements only; the other runs retention too). */
const EVERY_MINUTE = "* * * * *";

interface Isolate {
  config: Config;
  logger: Logger;
  kv: Kv;
  /** pure-JS argon2id: workerd refuses to compile WASM at run time (PLATFORM-FACTS). */
  passwords: PasswordHasher;
  /** One @upstash/ratelimit per isolate: counters live in Upstash, shared by every isolate. */
  rateLimiter: RateLimiter;
  startedAt: number;
  /** Rooms live on PartyKit: publishing is an HTTP POST to the room with the shared secret. */
  realtime?: RealtimeBus;
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
        prefix: "horizon:",
        timeoutMs: config.KV_TIMEOUT_MS,
        breaker: { onStateChange: kvBreakerLog(logger) },
      }),
      passwords: createNobleHasher(),
      rateLimiter: createUpstashRateLimiter({
        url: config.UPSTASH_REDIS_REST_URL!,
        token: config.UPSTASH_REDIS_REST_TOKEN!,
      }),
      startedAt: Date.now(),
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

/**
 * Services for one invocation: a fresh Neon Pool and cache, the rest per isolate. `close` ends the
 * Pool after the work the invocation deferred (cache refreshes) has settled; hand it to waitUntil.
 */
function invocationServices(
  state: Isolate,
  logger = state.logger,
): { services: Services; close(): Promise<void> } {
  const database = createNeonDatabase({
    url: state.config.DATABASE_URL!,
    wsProxy: state.config.NEON_WS_PROXY,
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
    ...(state.realtime ? { realtime: state.realtime } : {}),
    startedAt: state.startedAt,
  });
  const close = async () => {
    while (deferred.length) await Promise.allSettled(deferred.splice(0));
    await database.close();
  };
  return { services, close };
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
    const { services, close } = invocationServices(state);
    try {
      return await createApp(services).fetch(request, env, ctx);
    } finally {
      ctx.waitUntil(close());
    }
  },

  /**
   * Cron Triggers (wrangler.toml `[triggers]`): every minute, scheduled announcements that became
   * due get their version (sync/scheduled.ts), so residents receive them within a minute; the
   * hourly trigger also runs sync retention (expired tombstones and op records).
   */
  async scheduled(controller: ScheduledController, env: Record<string, unknown>, ctx: ExecutionContext) {
    const state = setup(env);
    if (state instanceof ConfigError) {
      logBadEnvironment(state);
      return;
    }
    const { services, close } = invocationServices(state, state.logger.child({ cron: controller.cron }));
    const publish = publishDueAnnouncements(services).catch((err) =>
      services.logger.warn(
        { event: "scheduled_publish_failed", err: String(err) },
        "scheduled publish failed",
      ),
    );
    const retention = controller.cron === EVERY_MINUTE ? undefined : runSyncRetention(services);
    ctx.waitUntil(Promise.all([publish, retention]).finally(close));
  },
};
