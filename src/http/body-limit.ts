import type { MiddlewareHandler } from "hono";
import { bodyLimit as honoBodyLimit } from "hono/body-limit";
import { ApiError } from "../errors";
import type { AppEnv } from "./env";

/**
 * Refuses request bodies over `maxBytes` with 413 problem+json, checking `Content-Length` first
 * and counting streamed bytes otherwise (RFC 9110 §15.5.14: 413 Content Too Large).
 */
export function bodyLimit(maxBytes: number): MiddlewareHandler<AppEnv> {
  const tooLarge = () => {
    throw new ApiError("PAYLOAD_TOO_LARGE", `request body exceeds ${maxBytes} bytes`, {
      extensions: { maxBytes },
    });
  };
  const limit = honoBodyLimit({ maxSize: maxBytes, onError: tooLarge });
  // GET/HEAD carry no body; skipping them also avoids touching `req.body`, which would turn
  // @hono/node-server's lightweight Request into a full one on every read. A declared length (what
  // every HTTP client sends for a buffered body) is checked here, without hono's async frame; a
  // body without one is counted as it streams.
  return function bodyLimitMiddleware(c, next) {
    const m = c.req.method;
    if (m === "GET" || m === "HEAD" || m === "OPTIONS") return next();
    const declared = c.req.header("content-length");
    if (declared === undefined || c.req.header("transfer-encoding") !== undefined) return limit(c, next);
    return Number.parseInt(declared, 10) > maxBytes ? tooLarge() : next();
  };
}
