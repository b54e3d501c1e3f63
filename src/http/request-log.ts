import type { MiddlewareHandler } from "hono";
import { currentContext, type RequestMetrics } from "../context";
import { clientIp } from "./client-ip";
import type { AppEnv } from "./env";

const STREAMING = /^(text\/event-stream|application\/octet-stream|multipart\/)/;

/**
 * One request line and one response line per request (design properties 1, 2, 6). The response
 * line carries status, duration, payload bytes and the request's db/kv metrics, which also go
 * out as a `Server-Timing` header (W3C Server Timing: `name;dur=<ms>;desc="..."`). Bodies that
 * are not streams are measured, so the response also gets an exact `Content-Length`.
 */
export function requestLog(): MiddlewareHandler<AppEnv> {
  return async function requestLogMiddleware(c, next) {
    const started = performance.now();
    const logger = c.get("services").logger;
    const url = new URL(c.req.url);
    if (logger.isLevelEnabled("info")) {
      logger.info(
        {
          event: "request",
          method: c.req.method,
          path: url.pathname,
          userAgent: c.req.header("user-agent") ?? "",
          ip: clientIp(c),
        },
        "request",
      );
    }
    await next();

    const res = c.res;
    let bytes = Number(res.headers.get("content-length") ?? Number.NaN);
    const type = res.headers.get("content-type") ?? "";
    if (Number.isNaN(bytes) && res.body && !STREAMING.test(type)) {
      const body = await res.arrayBuffer();
      bytes = body.byteLength;
      const headers = new Headers(res.headers);
      headers.set("content-length", String(bytes));
      c.res = undefined as never;
      c.res = new Response(body, { status: res.status, statusText: res.statusText, headers });
    }
    if (Number.isNaN(bytes)) bytes = res.body ? -1 : 0;

    const durationMs = round(performance.now() - started);
    const metrics = currentContext()?.metrics;
    if (metrics) c.res.headers.set("Server-Timing", serverTiming(metrics, durationMs));
    if (logger.isLevelEnabled("info")) {
      logger.info(
        {
          event: "response",
          method: c.req.method,
          path: url.pathname,
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
