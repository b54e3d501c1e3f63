/**
 * Edge host: the Cloudflare Worker. Neon serverless Pool (WebSocket) and Upstash Redis (REST),
 * wired from bindings. Workers forbid sharing I/O objects between requests, so the Pool lives
 * for one request and is closed after the response; config, logger and kv are kept per isolate.
 * The hourly Cron Trigger (wrangler.toml) runs the sync retention (tombstones, op records) the same way.
 */
import type { ExecutionContext, ScheduledController } from "@cloudflare/workers-types";
import { createApp } from "../src/app";
import { type Config, ConfigError, parseConfig } from "../src/config";
import { ApiError, problemResponse } from "../src/http/errors";
import { runSyncRetention } from "../src/modules/sync/purge-job";
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

/** Services for one invocation: a fresh Neon Pool (closed by the caller), the rest per isolate. */
function invocationServices(state: Isolate, logger = state.logger): Services {
  const database = createNeonDatabase({
    url: state.config.DATABASE_URL!,
    wsProxy: state.config.NEON_WS_PROXY,
  });
  return assembleServices({
    config: state.config,
    database,
    kv: state.kv,
    logger,
    passwords: state.passwords,
    rateLimiter: state.rateLimiter,
    runtime: "workerd",
    ...(state.realtime ? { realtime: state.realtime } : {}),
    startedAt: state.startedAt,
  });
}

export default {
  async fetch(request: Request, env: Record<string, unknown>, ctx: ExecutionContext): Promise<Response> {
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
    const services = invocationServices(state);
    try {
      return await createApp(services).fetch(request, env, ctx);
    } finally {
      ctx.waitUntil(services.database.close());
    }
  },

  /** Cron Trigger (wrangler.toml `[triggers]`): sync retention (expired tombstones and op records). */
  async scheduled(controller: ScheduledController, env: Record<string, unknown>, ctx: ExecutionContext) {
    const state = setup(env);
    if (state instanceof ConfigError) {
      logBadEnvironment(state);
      return;
    }
    const services = invocationServices(state, state.logger.child({ cron: controller.cron }));
    ctx.waitUntil(runSyncRetention(services).finally(() => services.database.close()));
  },
};
