import type { MiddlewareHandler } from "hono";
import { bodyLimit as honoBodyLimit } from "hono/body-limit";
import type { AppEnv } from "./env";
import { ApiError } from "./errors";

/**
 * Refuses request bodies over `maxBytes` with 413 problem+json, checking `Content-Length` first
 * and counting streamed bytes otherwise (RFC 9110 §15.5.14: 413 Content Too Large).
 */
export function bodyLimit(maxBytes: number): MiddlewareHandler<AppEnv> {
  const limit = honoBodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new ApiError("PAYLOAD_TOO_LARGE", `request body exceeds ${maxBytes} bytes`, {
        extensions: { maxBytes },
      });
    },
  });
  // GET/HEAD carry no body; skipping them also avoids touching `req.body`, which would turn
  // @hono/node-server's lightweight Request into a full one on every read.
  return function bodyLimitMiddleware(c, next) {
    const m = c.req.method;
    return m === "GET" || m === "HEAD" || m === "OPTIONS" ? next() : limit(c, next);
  };
}
