/**
 * Problem documents for what the hosts answer before a request reaches the app: refused room
 * upgrades, a room path without `Upgrade: websocket`, request heads over the size limit, and
 * requests Node's HTTP parser rejects. Same RFC 9457 shape and `X-Correlation-Id` as the app's
 * own errors. Imports nothing Node-only, so PartyKit rooms and Workers can use it too.
 */
import { ApiError, type ErrorCode } from "../errors";
import { problemResponse, toProblem } from "./errors";

// http/correlation.ts holds the same rule, but imports AsyncLocalStorage, which PartyKit rooms
// (no nodejs_compat) cannot load.
const SAFE_CORRELATION_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** The request's safe `X-Correlation-Id`, or a fresh one (same rule as the correlation middleware). */
export function correlationIdOf(headers: { get(name: string): string | null } | undefined): string {
  const incoming = headers?.get("x-correlation-id");
  return incoming && SAFE_CORRELATION_ID.test(incoming) ? incoming : crypto.randomUUID();
}

/** A problem+json response carrying `X-Correlation-Id`. */
export function hostProblem(
  code: ErrorCode,
  detail: string,
  correlationId: string,
  headers?: Record<string, string>,
): Response {
  return problemResponse(new ApiError(code, detail, headers ? { headers } : {}), correlationId);
}

/** Node's default `maxHeaderSize`: request line plus header fields. */
export const MAX_REQUEST_HEAD_BYTES = 16 * 1024;

/**
 * Request line plus header fields in bytes, as Node's parser counts them against
 * `maxHeaderSize`. Bun runs with a larger parser limit (`npm start` passes
 * --max-http-header-size), so an oversized request reaches the host, which answers 431 with a
 * problem document instead of Bun's empty one.
 */
export function requestHeadBytes(req: Request): number {
  const url = req.url;
  // The origin part of req.url is not on the request line; counting it errs on the safe side.
  let n = req.method.length + url.length + 11;
  req.headers.forEach((v, k) => {
    n += k.length + v.length + 4;
  });
  return n;
}

export function headersTooLarge(correlationId: string): Response {
  return hostProblem(
    "HEADERS_TOO_LARGE",
    `the request line and headers exceed ${MAX_REQUEST_HEAD_BYTES} bytes; shorten the URL (send large filters in a body) or the headers`,
    correlationId,
  );
}

/**
 * The raw HTTP/1.1 answer to a request Node's parser refused (`clientError`), as problem+json;
 * null when the socket is gone (nothing can be written). Mirrors Node's own choice of status:
 * 431 for an oversized head, 408 for a request timeout, 400 otherwise.
 */
export function clientErrorAnswer(err: { code?: string }): string | null {
  if (err.code === "ECONNRESET") return null;
  const id = crypto.randomUUID();
  const error =
    err.code === "HPE_HEADER_OVERFLOW"
      ? new ApiError(
          "HEADERS_TOO_LARGE",
          `the request line and headers exceed ${MAX_REQUEST_HEAD_BYTES} bytes; shorten the URL (send large filters in a body) or the headers`,
        )
      : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? new ApiError("REQUEST_TIMEOUT", "the request was not received in time")
        : new ApiError("BAD_REQUEST", "the request is not valid HTTP/1.1");
  const body = JSON.stringify(toProblem(error, id));
  return [
    `HTTP/1.1 ${error.status} ${toProblem(error, id).title}`,
    "content-type: application/problem+json",
    `x-correlation-id: ${id}`,
    `content-length: ${new TextEncoder().encode(body).byteLength}`,
    "connection: close",
    "",
    body,
  ].join("\r\n");
}
