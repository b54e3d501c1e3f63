import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { currentContext } from "../context";
import { ApiError, type ErrorCode } from "../errors";
import { requestLocale } from "../modules/i18n/middleware";
import { DependencyUnavailableError, retryAfterSeconds } from "../platform/breaker";
import { redact } from "../platform/log";
import { clientIp } from "./client-ip";
import type { AppEnv } from "./env";
import { problemResponse } from "./errors";

const HTTP_STATUS_CODES: Partial<Record<number, ErrorCode>> = {
  400: "BAD_REQUEST",
  401: "UNAUTHENTICATED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  405: "METHOD_NOT_ALLOWED",
  409: "CONFLICT",
  413: "PAYLOAD_TOO_LARGE",
  415: "UNSUPPORTED_MEDIA_TYPE",
  429: "RATE_LIMITED",
  503: "DEPENDENCY_UNAVAILABLE",
};

/** Maps anything thrown to an ApiError: ours pass through, Hono's keep their status. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  // A dependency down or its breaker open (kv, ...): the request may succeed later, so say when.
  if (err instanceof DependencyUnavailableError) {
    return new ApiError("DEPENDENCY_UNAVAILABLE", `${err.dependency} is unavailable; retry shortly`, {
      headers: { "Retry-After": String(retryAfterSeconds(err)) },
      cause: err,
    });
  }
  if (err instanceof HTTPException) {
    if (err.status === 400 && /malformed json/i.test(err.message)) {
      return new ApiError("MALFORMED_JSON", "the request body is not valid JSON", { cause: err });
    }
    const code = HTTP_STATUS_CODES[err.status];
    if (code) return new ApiError(code, err.message || undefined, { cause: err });
  }
  return new ApiError("INTERNAL", undefined, { cause: err });
}

async function requestData(c: Context<AppEnv>) {
  let body: unknown;
  try {
    // HonoRequest caches what a handler already read, so this does not consume the body twice.
    if ((c.req.header("content-type") ?? "").includes("json")) body = await c.req.json();
  } catch {
    body = "[unreadable]";
  }
  const url = new URL(c.req.url);
  return {
    method: c.req.method,
    path: url.pathname,
    query: redact(Object.fromEntries(url.searchParams)),
    body: redact(body),
    userAgent: c.req.header("user-agent") ?? "",
    ip: clientIp(c),
  };
}

/**
 * The one error handler: renders every failure as problem+json with the correlation id. Server
 * errors are logged with stack, user context and request data (secrets redacted); their bodies
 * never carry the internal message.
 */
export const onError: ErrorHandler<AppEnv> = async (err, c) => {
  const apiError = toApiError(err);
  const correlationId = c.get("correlationId") ?? currentContext()?.correlationId ?? crypto.randomUUID();
  const logger = c.get("services")?.logger;
  if (logger) {
    const ctx = currentContext();
    const fields = {
      event: "error",
      code: apiError.code,
      status: apiError.status,
      user: ctx?.userId ? { id: ctx.userId, buildingId: ctx.buildingId } : null,
      request: await requestData(c),
    };
    if (apiError.status >= 500) {
      const cause = apiError.cause ?? apiError;
      const e = cause instanceof Error ? cause : new Error(String(cause));
      logger.error({ ...fields, err: { type: e.name, message: e.message, stack: e.stack } }, e.message);
    } else if (logger.isLevelEnabled("debug")) {
      logger.debug({ ...fields, detail: apiError.message }, "request failed");
    }
  }
  return problemResponse(apiError, correlationId, new URL(c.req.url).pathname, await requestLocale(c));
};

export const notFound: NotFoundHandler<AppEnv> = (c) => {
  const path = new URL(c.req.url).pathname;
  const correlationId = c.get("correlationId") ?? crypto.randomUUID();
  return problemResponse(
    new ApiError("ROUTE_NOT_FOUND", `no route for ${c.req.method} ${path}`),
    correlationId,
    path,
    c.get("locale"),
  );
};
