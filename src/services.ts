/**
 * The services bundle: every port a route or verb may use, built by a host from adapters.
 * Modules reach infrastructure only through it (`c.var.services` in routes, `ctx` in verbs).
 * The adapter choice for Bun/Node lives in `platform/select.ts`; the edge host wires its own
 * (Neon, Upstash) so that Node-only adapters never enter the Worker bundle.
 */
import type { Config } from "./config";
import { createPresenceService, type PresenceService } from "./modules/realtime/presence";
import { type Cache, createCache } from "./platform/cache";
import type { Database } from "./platform/db";
import type { Kv } from "./platform/kv";
import type { Logger } from "./platform/log";
import type { PasswordHasher } from "./platform/password";
import type { QueueTransport } from "./platform/queue";
import { createHashWasmHasher } from "./platform/password/hash-wasm";
import type { RateLimiter } from "./platform/ratelimit";
import { createFlexibleRateLimiter } from "./platform/ratelimit/flexible";
import type { RealtimeBus } from "./platform/realtime";
import { createMemoryBus } from "./platform/realtime/memory";

export type Runtime = "bun" | "node" | "workerd";

export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export interface Services {
  config: Config;
  database: Database;
  kv: Kv;
  logger: Logger;
  /** argon2id password hashing (hash-wasm on Bun/Node; the edge host passes the pure-JS noble one). */
  passwords: PasswordHasher;
  clock: Clock;
  runtime: Runtime;
  version: string;
  /** Epoch ms when the host built these services (liveness uptime). */
  startedAt: number;
  /** Dependencies besides db and kv that /health/ready checks (object storage, ...). */
  readiness: ReadinessCheck[];
  /** Hosts whose platform compresses (Workers) turn app-level compression off. */
  compressInApp: boolean;
  /**
   * The API reference's browser script, served at /docs/scalar.js by hosts that have it on disk
   * (standalone), so /docs works without reaching a CDN. Unset: the page loads Scalar's CDN build.
   */
  docsScript?: () => Promise<Uint8Array<ArrayBuffer>>;
  /** Request rate limits (src/http/rate-limit.ts). Default: process memory, one per config. */
  rateLimiter: RateLimiter;
  /** JSON cache over `kv` with TTL, stale-while-revalidate, single-flight and tags. */
  cache: Cache;
  /** Publishes into building rooms: in-process (standalone) or PartyKit HTTP (edge). */
  realtime: RealtimeBus;
  /** Who is online in a building (kv sets with TTL refreshed by room heartbeats). */
  presence: PresenceService;
  /**
   * Hands committed outbox events to delivery (in-process loop standalone, QStash on the edge).
   * Unset: rows stay pending until a dispatcher drains them (tests, scripts).
   */
  queue?: QueueTransport;
}

type Defaulted =
  | "clock"
  | "startedAt"
  | "readiness"
  | "compressInApp"
  | "version"
  | "passwords"
  | "rateLimiter"
  | "cache"
  | "realtime"
  | "presence";
export type ServicesInit = Omit<Services, Defaulted> & Partial<Pick<Services, Defaulted>>;

export const APP_VERSION = "0.1.0";

/**
 * Defaults are kept per config (limiter) and per kv + clock (cache) so a host that assembles
 * services per request still shares counters and single-flight. The Worker passes its own cache
 * per request instead (workers/edge.ts): its computations run on I/O no other request may await.
 */
const defaultLimiters = new WeakMap<Config, RateLimiter>();
const defaultCaches = new WeakMap<Kv, WeakMap<Clock, Cache>>();

function defaultLimiter(config: Config): RateLimiter {
  const known = defaultLimiters.get(config);
  if (known) return known;
  const limiter = createFlexibleRateLimiter({ store: "memory" });
  defaultLimiters.set(config, limiter);
  return limiter;
}

function defaultCache(init: ServicesInit, clock: Clock): Cache {
  const byClock = defaultCaches.get(init.kv) ?? new WeakMap<Clock, Cache>();
  defaultCaches.set(init.kv, byClock);
  let cache = byClock.get(clock);
  if (!cache) {
    const logger = init.logger;
    cache = createCache({
      kv: init.kv,
      now: () => clock.now().getTime(),
      defaultStaleMs: init.config.CACHE_STALE_SECONDS * 1000,
      onError: (err, key) =>
        logger.warn({ event: "cache_degraded", key, err: String(err) }, "cache degraded"),
    });
    byClock.set(clock, cache);
  }
  return cache;
}

/** One in-process bus per config, so rooms, SSE streams and writers of one process share it. */
const defaultBuses = new WeakMap<Config, RealtimeBus>();
function defaultBus(config: Config): RealtimeBus {
  let bus = defaultBuses.get(config);
  if (!bus) {
    bus = createMemoryBus();
    defaultBuses.set(config, bus);
  }
  return bus;
}

export function assembleServices(init: ServicesInit): Services {
  const clock = init.clock ?? systemClock;
  return {
    clock: systemClock,
    startedAt: Date.now(),
    readiness: [],
    compressInApp: init.runtime !== "workerd",
    version: APP_VERSION,
    ...init,
    passwords: init.passwords ?? createHashWasmHasher(),
    rateLimiter: init.rateLimiter ?? defaultLimiter(init.config),
    cache: init.cache ?? defaultCache(init, clock),
    realtime: init.realtime ?? defaultBus(init.config),
    presence:
      init.presence ?? createPresenceService(init.kv, { ttlMs: init.config.REALTIME_HEARTBEAT_TIMEOUT_MS }),
  };
}

/** Closes what the services hold open (pools, sockets). */
export async function closeServices(services: Services): Promise<void> {
  await Promise.allSettled([services.database.close(), services.kv.close()]);
}
