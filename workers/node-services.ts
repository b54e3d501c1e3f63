/**
 * The services defaults of the Bun/Node hosts (standalone, the job service, migrations, tests):
 * hash-wasm argon2id, an in-memory rate limiter and an in-process realtime bus (Redis pub/sub with
 * REALTIME_BUS=redis), one each per config. They live with the hosts, not in src/services.ts,
 * so that file carries no Node-only adapter into the Worker bundle (the edge host passes noble,
 * Upstash and PartyKit instead).
 */
import type { Config } from "../src/config";
import { createHashWasmHasher } from "../src/platform/password/hash-wasm";
import type { PushService } from "../src/platform/push";
import { pushServiceFor } from "../src/platform/push/select";
import type { RateLimiter } from "../src/platform/ratelimit";
import { createFlexibleRateLimiter } from "../src/platform/ratelimit/flexible";
import { memoryBusFor } from "../src/platform/realtime/memory";
import { redisBusFor } from "../src/platform/realtime/redis";
import type { MalwareScanner } from "../src/platform/scan";
import { createClamdScanner } from "../src/platform/scan/clamd";
import type { ObjectStorage } from "../src/platform/storage";
import { deferredS3StorageFor } from "../src/platform/storage/deferred";
import { filesystemStorageFor } from "../src/platform/storage/filesystem";
import { assembleServices, type Services, type ServicesInit } from "../src/services";
// Registers the outbox handlers that need Node APIs (push senders, image processing, webhooks).
import "./node-handlers";

type NodeDefaulted = "passwords" | "rateLimiter" | "realtime" | "push" | "storage";
export type NodeServicesInit = Omit<ServicesInit, NodeDefaulted> & Partial<Pick<Services, NodeDefaulted>>;

// Per config, so a host that assembles services more than once still shares counters.
const limiters = new WeakMap<Config, RateLimiter>();
function memoryLimiter(config: Config): RateLimiter {
  let limiter = limiters.get(config);
  if (!limiter) {
    limiter = createFlexibleRateLimiter({ store: "memory" });
    limiters.set(config, limiter);
  }
  return limiter;
}

// Per config too: the providers' connections and the breakers are the process's, not per assembly.
const pushServices = new WeakMap<Config, PushService>();
function pushFor(config: Config, logger: NodeServicesInit["logger"]): PushService {
  let push = pushServices.get(config);
  if (!push) {
    push = pushServiceFor(config, logger);
    pushServices.set(config, push);
  }
  return push;
}

// Per config: S3 clients keep their connection pools; filesystem storage derives its key once.
// S3 is deferred: the AWS SDK is loaded by the first storage call, not by the host's start.
const storages = new WeakMap<Config, ObjectStorage>();
function storageFor(config: Config): ObjectStorage {
  let storage = storages.get(config);
  if (!storage) {
    storage = deferredS3StorageFor(config) ?? filesystemStorageFor(config);
    storages.set(config, storage);
  }
  return storage;
}

/** clamd when configured (CLAMD_HOST or CLAMD_SOCKET); each scan opens its own connection. */
function scannerFor(config: Config): MalwareScanner | undefined {
  if (!config.CLAMD_HOST && !config.CLAMD_SOCKET) return undefined;
  return createClamdScanner({
    ...(config.CLAMD_SOCKET
      ? { socketPath: config.CLAMD_SOCKET }
      : { host: config.CLAMD_HOST, port: config.CLAMD_PORT }),
    timeoutMs: config.CLAMD_TIMEOUT_MS,
    maxStreamBytes: config.CLAMD_MAX_STREAM_BYTES,
  });
}

export function assembleNodeServices(init: NodeServicesInit): Services {
  const storage = init.storage ?? storageFor(init.config);
  return assembleServices({
    ...init,
    passwords: init.passwords ?? createHashWasmHasher(),
    rateLimiter: init.rateLimiter ?? memoryLimiter(init.config),
    // REALTIME_BUS=redis: several replicas share rooms and streams over Redis pub/sub.
    realtime:
      init.realtime ??
      (init.config.REALTIME_BUS === "redis"
        ? redisBusFor(init.config, (err) =>
            init.logger.warn({ event: "realtime_bus_error", err: String(err) }, "realtime bus error"),
          )
        : memoryBusFor(init.config)),
    push: init.push ?? pushFor(init.config, init.logger),
    storage,
    // Object storage is a dependency /health/ready checks (filesystem: the folder; S3: HeadBucket).
    readiness: init.readiness ?? [{ name: "storage", check: () => storage.check() }],
    scanner: "scanner" in init ? init.scanner : scannerFor(init.config),
  });
}
