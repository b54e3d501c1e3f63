/**
 * URL versions (design property 7). Every configured version (`API_VERSIONS`) is mounted from
 * createApp; this middleware runs in front of each. A version listed in `API_DEPRECATIONS`
 * answers with
 *   - `Deprecation: @<unix seconds>` (RFC 9745 §2: an Item of type Date; a future date announces
 *     the deprecation),
 *   - `Sunset: <IMF-fixdate>` (RFC 8594 §3),
 *   - `Link: <migration doc>; rel="deprecation"` (RFC 9745 §3),
 * and from its sunset date on it answers 410 VERSION_SUNSET. Requests are counted per version
 * per UTC day in kv (`apiver:<version>:<yyyy-mm-dd>`, kept 90 days) so we know when a version can
 * go; `versionUsage` reads the counts. "Now" is `services.clock`, so tests can move time.
 *
 * Counting does not cost a kv round trip per request (Upstash bills every command): each process
 * (or Worker isolate) adds up its counts in memory and adds them to kv at most every
 * USAGE_FLUSH_MS, one INCRBY per version and day. A process that stops between flushes loses those
 * few seconds of counts, which for deciding when a version can go is noise; `versionUsage`
 * flushes this process's counts first, so its report includes them.
 */
import type { MiddlewareHandler } from "hono";
import type { Config } from "../config";
import { ApiError } from "../errors";
import type { Kv } from "../platform/kv";
import type { Services } from "../services";
import type { AppEnv } from "./env";

export interface Deprecation {
  version: string;
  deprecatedAt: Date;
  sunsetAt: Date;
}

export type VersionStatus = "active" | "deprecated" | "sunset";

export const USAGE_RETENTION_DAYS = 90;
const usageKey = (version: string, day: string) => `apiver:${version}:${day}`;
const utcDay = (d: Date) => d.toISOString().slice(0, 10);

export function versionStatus(dep: Deprecation | undefined, now: Date): VersionStatus {
  if (!dep) return "active";
  return now >= dep.sunsetAt ? "sunset" : "deprecated";
}

export function deprecationHeaders(dep: Deprecation, migrationDoc: string): Record<string, string> {
  return {
    Deprecation: `@${Math.floor(dep.deprecatedAt.getTime() / 1000)}`,
    Sunset: dep.sunsetAt.toUTCString(),
    Link: `<${migrationDoc}>; rel="deprecation"; type="text/html"`,
  };
}

export function deprecationOf(config: Config, version: string): Deprecation | undefined {
  return config.API_DEPRECATIONS.find((d) => d.version === version);
}

export interface VersioningOptions {
  version: string;
  /** Count requests in kv (default true). */
  count?: boolean;
}

/** Counts of one kv store not yet added to it (key → requests), and when they started. */
interface UsageBuffer {
  counts: Map<string, number>;
  since: number;
  timer?: ReturnType<typeof setTimeout>;
  /** The flush under way: a report waits for it. */
  flushing?: Promise<void>;
  logger: Services["logger"];
}
const buffers = new WeakMap<Kv, UsageBuffer>();
/** How long request counts stay in memory before they are added to kv. */
export const USAGE_FLUSH_MS = 5_000;

function countRequest(services: Services, key: string, now: number): Promise<void> | undefined {
  let buffer = buffers.get(services.kv);
  if (!buffer) {
    buffer = { counts: new Map(), since: now, logger: services.logger };
    buffers.set(services.kv, buffer);
  }
  if (buffer.counts.size === 0) {
    buffer.since = now;
    // An idle process still flushes. Not in a Worker: a timer there may never fire once the
    // request is done, so an isolate flushes on a later request (below) instead.
    if (services.runtime !== "workerd" && !buffer.timer) {
      buffer.timer = setTimeout(() => void flushUsage(services.kv), USAGE_FLUSH_MS);
      (buffer.timer as { unref?: () => void }).unref?.();
    }
  }
  buffer.counts.set(key, (buffer.counts.get(key) ?? 0) + 1);
  // A clock moved back (tests) is not a reason to flush; versionUsage flushes anyway.
  return now - buffer.since >= USAGE_FLUSH_MS ? flushUsage(services.kv) : undefined;
}

/**
 * Adds this process's buffered request counts of `kv` to it, one INCRBY per version and day. Counts
 * whose write fails go back into the buffer for the next flush.
 */
export async function flushUsage(kv: Kv): Promise<void> {
  const buffer = buffers.get(kv);
  if (!buffer) return;
  while (buffer.flushing) await buffer.flushing;
  if (buffer.counts.size === 0) return;
  const counts = buffer.counts;
  buffer.counts = new Map();
  clearTimeout(buffer.timer);
  buffer.timer = undefined;
  buffer.flushing = Promise.all(
    [...counts].map(([key, n]) =>
      kv.incr(key, n, USAGE_RETENTION_DAYS * 86_400_000).then(
        () => {},
        (err: unknown) => {
          buffer.counts.set(key, (buffer.counts.get(key) ?? 0) + n);
          buffer.logger.warn({ event: "version_count_failed", key, err: String(err) }, "count failed");
        },
      ),
    ),
  ).then(() => {
    buffer.flushing = undefined;
  });
  await buffer.flushing;
}

export function versioning(options: VersioningOptions): MiddlewareHandler<AppEnv> {
  const { version } = options;
  return async function versioningMiddleware(c, next) {
    const services = c.get("services");
    const now = services.clock.now();
    const counting =
      options.count === false
        ? undefined
        : countRequest(services, usageKey(version, utcDay(now)), now.getTime());
    try {
      const dep = deprecationOf(services.config, version);
      if (!dep) return await next();
      const headers = deprecationHeaders(dep, services.config.API_MIGRATION_DOC);
      if (versionStatus(dep, now) === "sunset") {
        throw new ApiError(
          "VERSION_SUNSET",
          `API ${version} was retired on ${dep.sunsetAt.toISOString().slice(0, 10)}; see ${services.config.API_MIGRATION_DOC}`,
          {
            headers,
            extensions: {
              version,
              sunsetAt: dep.sunsetAt.toISOString(),
              migrationDoc: services.config.API_MIGRATION_DOC,
            },
          },
        );
      }
      await next();
      for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
    } finally {
      if (counting) finish(c, counting, services.runtime === "workerd");
    }
  };
}

/**
 * A flush never holds the response: a Worker hands it to waitUntil (or the isolate may stop before
 * it lands); elsewhere the process lives on and the flush finishes by itself (it cannot reject).
 * Outside Workers there is no execution context to ask for (Hono throws, a stack trace a request).
 */
function finish(c: Parameters<MiddlewareHandler<AppEnv>>[0], work: Promise<void>, workers: boolean) {
  if (!workers) return;
  try {
    c.executionCtx.waitUntil(work);
  } catch {
    // A Worker invoked without one (tests): the flush still runs.
  }
}

export interface VersionUsage {
  version: string;
  status: VersionStatus;
  deprecatedAt: string | null;
  sunsetAt: string | null;
  /** Requests per UTC day, newest first. */
  days: Array<{ date: string; requests: number }>;
  total: number;
}

/** Request counts per version for the last `days` UTC days (including today). */
export async function versionUsage(kv: Kv, config: Config, now: Date, days = 30): Promise<VersionUsage[]> {
  await flushUsage(kv);
  const dates = Array.from({ length: days }, (_, i) => utcDay(new Date(now.getTime() - i * 86_400_000)));
  return Promise.all(
    config.API_VERSIONS.map(async (version) => {
      const counts = await Promise.all(dates.map((d) => kv.get(usageKey(version, d))));
      const perDay = dates.map((date, i) => ({ date, requests: Number(counts[i] ?? 0) }));
      const dep = deprecationOf(config, version);
      return {
        version,
        status: versionStatus(dep, now),
        deprecatedAt: dep?.deprecatedAt.toISOString() ?? null,
        sunsetAt: dep?.sunsetAt.toISOString() ?? null,
        days: perDay,
        total: perDay.reduce((n, d) => n + d.requests, 0),
      };
    }),
  );
}
