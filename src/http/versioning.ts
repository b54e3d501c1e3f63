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
 */
import type { MiddlewareHandler } from "hono";
import type { Config } from "../config";
import type { Kv } from "../platform/kv";
import type { AppEnv } from "./env";
import { ApiError } from "./errors";

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

export function versioning(options: VersioningOptions): MiddlewareHandler<AppEnv> {
  const { version } = options;
  return async function versioningMiddleware(c, next) {
    const services = c.get("services");
    const now = services.clock.now();
    // Started before the handler so the kv round trip overlaps it instead of adding to it.
    const counting =
      options.count === false
        ? undefined
        : services.kv
            .incr(usageKey(version, utcDay(now)), 1, USAGE_RETENTION_DAYS * 86_400_000)
            .catch((err: unknown) => {
              services.logger.warn(
                { event: "version_count_failed", version, err: String(err) },
                "count failed",
              );
            });
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
      if (counting) await finish(c, counting, services.runtime === "workerd");
    }
  };
}

async function finish(c: Parameters<MiddlewareHandler<AppEnv>>[0], work: Promise<unknown>, workers: boolean) {
  // Workers: do not hold the response for a counter. Elsewhere there is no execution context (and
  // asking Hono for it throws, which costs a stack trace per request): the count is a local round
  // trip, await it.
  if (workers) {
    try {
      c.executionCtx.waitUntil(work);
      return;
    } catch {
      // A Worker invoked without one (tests): fall through.
    }
  }
  await work;
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
