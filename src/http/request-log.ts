import type { Context, MiddlewareHandler } from "hono";
import { currentContext, type RequestMetrics } from "../context";
import { byteLength, hasBody, responseBody } from "./body";
import { clientIp } from "./client-ip";
import type { AppEnv } from "./env";
import { resHeader, setResHeader } from "./headers";

/**
 * One access line per request, written when the response is ready (design properties 1, 2, 6):
 * `event: "access"` with the request's fields (method, path, user agent, IP; correlation id and
 * time from the logger) and the response's (status, duration, payload bytes, the request's db/kv
 * metrics). The metrics also go out as a `Server-Timing` header (W3C Server Timing:
 * `name;dur=<ms>;desc="..."`). Bodies that are not streams get an exact `Content-Length` (from
 * the remembered body, see ./body.ts).
 *
 * Why one line and not a request line plus a response line (issue 19): properties 1 and 2 ask
 * that every request be logged with its fields and every response with its fields; one line that
 * carries both sets satisfies both, as pino-http's "request completed" line does, and halves the
 * logging cost of a request (each line is a JSON serialization, a timestamp and a sink write: a
 * quarter of the middleware stack's CPU on Node before this). What is lost is a line for a request
 * that never completes (the process dies mid-handler): the access line of a crashed request is
 * missing, where the request line used to remain. A handler that throws still gets its line (the
 * error handler answers and this middleware logs that answer), and an error line (property 4)
 * is written by the error handler before it, with the same correlation id.
 */
export function requestLog(): MiddlewareHandler<AppEnv> {
  return async function requestLogMiddleware(c, next) {
    const started = performance.now();
    await next();
    const pending = logAccess(c, started);
    if (pending) await pending;
  };
}

/**
 * The response half of `requestLog()`, for a request that began at `started`: Content-Length,
 * Server-Timing and the access line. Returns a promise only when the body had to be read back.
 */
export function logAccess(c: Context<AppEnv>, started: number): Promise<void> | undefined {
  // Content-Length from the body the handler built; streams (SSE, downloads) stay unbuffered.
  const declared = resHeader(c.res, "content-length");
  if (declared !== null) return writeAccess(c, started, Number(declared));
  const body = responseBody(c);
  if (body instanceof Promise) return body.then((read) => writeAccess(c, started, lengthOf(c, read)));
  return writeAccess(c, started, lengthOf(c, body));
}

function lengthOf(c: Context<AppEnv>, body: string | Uint8Array | null): number {
  if (body === null) return hasBody(c.res) ? -1 : 0;
  const bytes = byteLength(body);
  setResHeader(c.res, "content-length", String(bytes));
  return bytes;
}

function writeAccess(c: Context<AppEnv>, started: number, bytes: number): undefined {
  const durationMs = round(performance.now() - started);
  const metrics = currentContext()?.metrics;
  if (metrics) setResHeader(c.res, "server-timing", serverTiming(metrics, durationMs));
  const logger = c.get("services").logger;
  if (!logger.isLevelEnabled("info")) return;
  // One shape for every line (no conditional spread): cheaper to build and to serialize.
  logger.info(
    {
      event: "access",
      method: c.req.method,
      path: c.req.path,
      userAgent: c.req.header("user-agent") ?? "",
      ip: clientIp(c),
      status: c.res.status,
      durationMs,
      bytes,
      db: metrics ? dbFields(metrics) : undefined,
      kv: metrics ? kvFields(metrics) : undefined,
    },
    "request completed",
  );
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
