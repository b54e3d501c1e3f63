/**
 * The services bundle: every port a route or verb may use, built by a host from adapters.
 * Modules reach infrastructure only through it (`c.var.services` in routes, `ctx` in verbs).
 * The adapter choice for Bun/Node lives in `platform/select.ts`; the edge host wires its own
 * (Neon, Upstash) so that Node-only adapters never enter the Worker bundle.
 */
import type { Config } from "./config";
import type { Database } from "./platform/db";
import type { Kv } from "./platform/kv";
import type { Logger } from "./platform/log";

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
  clock: Clock;
  runtime: Runtime;
  version: string;
  /** Epoch ms when the host built these services (liveness uptime). */
  startedAt: number;
  /** Dependencies besides db and kv that /health/ready checks (object storage, ...). */
  readiness: ReadinessCheck[];
  /** Hosts whose platform compresses (Workers) turn app-level compression off. */
  compressInApp: boolean;
}

export type ServicesInit = Omit<Services, "clock" | "startedAt" | "readiness" | "compressInApp" | "version"> &
  Partial<Pick<Services, "clock" | "startedAt" | "readiness" | "compressInApp" | "version">>;

export const APP_VERSION = "0.1.0";

export function assembleServices(init: ServicesInit): Services {
  return {
    clock: systemClock,
    startedAt: Date.now(),
    readiness: [],
    compressInApp: init.runtime !== "workerd",
    version: APP_VERSION,
    ...init,
  };
}

/** Closes what the services hold open (pools, sockets). */
export async function closeServices(services: Services): Promise<void> {
  await Promise.allSettled([services.database.close(), services.kv.close()]);
}
