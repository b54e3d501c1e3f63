import type { MiddlewareHandler } from "hono";
import { currentContext, type RequestMetrics } from "../context";
import { byteLength, hasBody, responseBody } from "./body";
import { clientIp } from "./client-ip";
import type { AppEnv } from "./env";

/**
 * One request line and one response line per request (design properties 1, 2, 6). The response
 * line carries status, duration, payload bytes and the request's db/kv metrics, which also go
 * out as a `Server-Timing` header (W3C Server Timing: `name;dur=<ms>;desc="..."`). Bodies that
 * are not streams get an exact `Content-Length` (from the remembered body, see ./body.ts).
 */
export function requestLog(): MiddlewareHandler<AppEnv> {
  return async function requestLogMiddleware(c, next) {
    const started = performance.now();
    const logger = c.get("services").logger;
    const path = c.req.path;
    if (logger.isLevelEnabled("info")) {
      logger.info(
        {
          event: "request",
          method: c.req.method,
          path,
          userAgent: c.req.header("user-agent") ?? "",
          ip: clientIp(c),
        },
        "request",
      );
    }
    await next();

    // Content-Length from the body the handler built; streams (SSE, downloads) stay unbuffered.
    let bytes = Number(c.res.headers.get("content-length") ?? Number.NaN);
    if (Number.isNaN(bytes)) {
      const body = await responseBody(c);
      if (body !== null) {
        bytes = byteLength(body);
        c.res.headers.set("content-length", String(bytes));
      } else bytes = hasBody(c.res) ? -1 : 0;
    }

    const durationMs = round(performance.now() - started);
    const metrics = currentContext()?.metrics;
    if (metrics) c.res.headers.set("Server-Timing", serverTiming(metrics, durationMs));
    if (logger.isLevelEnabled("info")) {
      logger.info(
        {
          event: "response",
          method: c.req.method,
          path,
          status: c.res.status,
          durationMs,
          bytes,
          ...(metrics ? { db: dbFields(metrics), kv: kvFields(metrics) } : {}),
        },
        "response",
      );
    }
  };
}

const round = (n: number) => Math.round(n * 100) / 100;
const dbFields = (m: RequestMetrics) => ({ queries: m.dbQueries, ms: round(m.dbMs) });
const kvFields = (m: RequestMetrics) => ({
  calls: m.kvCalls,
  hits: m.kvHits,
  misses: m.kvMisses,
  ms: round(m.kvMs),
});

export function serverTiming(m: RequestMetrics, totalMs: number): string {
  return [
    `db;dur=${round(m.dbMs)};desc="${m.dbQueries} queries"`,
    `kv;dur=${round(m.kvMs)};desc="${m.kvCalls} calls ${m.kvHits} hits ${m.kvMisses} misses"`,
    `total;dur=${totalMs}`,
  ].join(", ");
}
