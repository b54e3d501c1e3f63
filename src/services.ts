/**
 * The services bundle: every port a route or verb may use, built by a host from adapters.
 * Modules reach infrastructure only through it (`c.var.services` in routes, `ctx` in verbs).
 * It imports no feature module and no adapter: hosts build their defaults (Bun/Node hosts through
 * workers/node-services.ts, the edge host its own), so Node-only adapters (hash-wasm,
 * rate-limiter-flexible) never enter the Worker bundle by way of this file.
 */
import type { Config } from "./config";
import { type Cache, createCache } from "./platform/cache";
import type { Database } from "./platform/db";
import type { Kv } from "./platform/kv";
import type { Logger } from "./platform/log";
import type { PasswordHasher } from "./platform/password";
import type { PushService } from "./platform/push";
import type { QueueTransport } from "./platform/queue";
import type { RateLimiter } from "./platform/ratelimit";
import type { PresenceService, RealtimeBus } from "./platform/realtime";
import type { MalwareScanner } from "./platform/scan";
import type { ObjectStorage } from "./platform/storage";

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
  /** Request rate limits (src/http/rate-limit.ts). Bun/Node default: process memory, one per config. */
  rateLimiter: RateLimiter;
  /** JSON cache over `kv` with TTL, stale-while-revalidate, single-flight and tags. */
  cache: Cache;
  /** Publishes into building rooms: in-process (standalone) or PartyKit HTTP (edge). */
  realtime: RealtimeBus;
  /**
   * Who is online in a building (kv sets with TTL refreshed by room heartbeats). Unset: the
   * realtime module builds one over `kv` (presenceOf).
   */
  presence?: PresenceService;
  /**
   * Hands committed outbox events to delivery (in-process loop standalone, QStash on the edge).
   * Unset: rows stay pending until a dispatcher drains them (tests, scripts).
   */
  queue?: QueueTransport;
  /**
   * Object storage for files (filesystem under DATA_DIR on the Bun/Node hosts, S3/R2 when
   * configured; the edge has it only with S3 config). Unset: upload and download routes answer 503.
   */
  storage?: ObjectStorage;
  /**
   * Malware scanning of uploads (clamd INSTREAM, built by the Bun/Node hosts when CLAMD_HOST or
   * CLAMD_SOCKET is set). Unset: files are sniffed and processed without a scan.
   */
  scanner?: MalwareScanner;
  /**
   * Push providers (Web Push, FCM, APNs, the log provider) and their circuit breakers, used by the
   * Node-only send handler. Bun/Node hosts build it from config (workers/node-services.ts); unset
   * on the edge, where push is sent by the job service.
   */
  push?: PushService;
}

type Defaulted = "clock" | "startedAt" | "readiness" | "compressInApp" | "version" | "cache";
export type ServicesInit = Omit<Services, Defaulted> & Partial<Pick<Services, Defaulted>>;

export const APP_VERSION = "0.1.0";

/**
 * The cache default is kept per kv + clock so a host that assembles services per request still
 * shares single-flight. The Worker passes its own cache
 * per request instead (workers/edge.ts): its computations run on I/O no other request may await.
 */
const defaultCaches = new WeakMap<Kv, WeakMap<Clock, Cache>>();

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

export function assembleServices(init: ServicesInit): Services {
  const clock = init.clock ?? systemClock;
  return {
    clock: systemClock,
    startedAt: Date.now(),
    readiness: [],
    compressInApp: init.runtime !== "workerd",
    version: APP_VERSION,
    ...init,
    cache: init.cache ?? defaultCache(init, clock),
  };
}

/** Closes what the services hold open (pools, sockets). */
export async function closeServices(services: Services): Promise<void> {
  await Promise.allSettled([
    services.database.close(),
    services.kv.close(),
    services.push?.close(),
    services.realtime.close?.(),
  ]);
}
