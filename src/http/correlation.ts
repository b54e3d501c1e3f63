import type { MiddlewareHandler } from "hono";
import { newMetrics, runWithContext } from "../context";
import type { AppEnv } from "./env";
import { setResHeader } from "./headers";

/** A safe incoming id: 1–128 characters of `[A-Za-z0-9._-]`; anything else is replaced. */
export const SAFE_CORRELATION_ID = /^[A-Za-z0-9._-]{1,128}$/;
export const CORRELATION_HEADER = "X-Correlation-Id";

export interface CorrelationOptions {
  header?: string;
  generate?: () => string;
}

/**
 * Accepts a safe incoming `X-Correlation-Id` or mints one, echoes it on the response, and runs
 * the rest of the request inside a request context (AsyncLocalStorage) so every log line and
 * adapter call of the request can reach it.
 */
export function correlation(options: CorrelationOptions = {}): MiddlewareHandler<AppEnv> {
  const header = options.header ?? CORRELATION_HEADER;
  const responseHeader = header.toLowerCase();
  const generate = options.generate ?? (() => crypto.randomUUID());
  return async function correlationMiddleware(c, next) {
    const incoming = c.req.header(header);
    const id = incoming && SAFE_CORRELATION_ID.test(incoming) ? incoming : generate();
    c.set("correlationId", id);
    await runWithContext({ correlationId: id, metrics: newMetrics() }, next);
    setResHeader(c.res, responseHeader, id);
  };
}
