import type { Context, MiddlewareHandler } from "hono";
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
  const generate = options.generate ?? newCorrelationId;
  return async function correlationMiddleware(c, next) {
    const id = requestCorrelationId(c, header, generate);
    await runWithContext({ correlationId: id, metrics: newMetrics() }, next);
    setResHeader(c.res, responseHeader, id);
  };
}

const newCorrelationId = () => crypto.randomUUID();

/** The request's correlation id (a safe incoming one, else a new one), set as `c.var.correlationId`. */
export function requestCorrelationId(
  c: Context<AppEnv>,
  header: string = CORRELATION_HEADER,
  generate: () => string = newCorrelationId,
): string {
  const incoming = c.req.header(header);
  const id = incoming && SAFE_CORRELATION_ID.test(incoming) ? incoming : generate();
  c.set("correlationId", id);
  return id;
}
