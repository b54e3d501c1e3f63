/**
 * Refuses clients too old to sync safely (src/protocol/version.ts). A request that names its
 * protocol in `Horizon-Protocol` below `min` is answered 426 UPGRADE_REQUIRED (RFC 9110 §15.5.22:
 * the client must switch to a newer protocol) with `minProtocol` in the problem, so the app can
 * tell its user to update. A request without the header (curl, server-to-server, the docs page)
 * passes: only SDKs send it. A header that is not a positive integer is a 400.
 */
import type { MiddlewareHandler } from "hono";
import { ApiError } from "../errors";
import { MIN_PROTOCOL_VERSION, PROTOCOL_HEADER } from "../protocol/version";
import type { AppEnv } from "./env";

export interface ClientProtocolOptions {
  /** Oldest protocol served (default MIN_PROTOCOL_VERSION). */
  min?: number;
}

export function clientProtocol(options: ClientProtocolOptions = {}): MiddlewareHandler<AppEnv> {
  const min = options.min ?? MIN_PROTOCOL_VERSION;
  return async function clientProtocolMiddleware(c, next) {
    const sent = c.req.header(PROTOCOL_HEADER);
    if (sent !== undefined) {
      if (!/^[1-9]\d{0,5}$/.test(sent.trim()))
        throw new ApiError("BAD_REQUEST", `${PROTOCOL_HEADER} must be a positive integer`);
      const version = Number(sent.trim());
      if (version < min)
        throw new ApiError(
          "UPGRADE_REQUIRED",
          `this app speaks Horizon protocol ${version}; the server needs ${min} or newer: update the app`,
          { extensions: { protocol: version, minProtocol: min } },
        );
    }
    await next();
  };
}
