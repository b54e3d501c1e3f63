/**
 * The app-wide middlewares as one: correlation id (request context) → access log + Server-Timing
 * → compression → ETag / 304 → body limit → i18n, in that order, around the routes.
 *
 * Each of them also exists as a middleware of its own (`correlation()`, `requestLog()`, ...: the
 * unit tests and the per-middleware benchmark use those); this runs the same halves they are
 * built from, in one Hono layer. Why (issue 19): every Hono layer is an async dispatch plus the
 * middleware's own async frame, three to four promises per layer, and on Node every promise made
 * while an AsyncLocalStorage is enabled calls its init hook (~0.5 µs each). Six layers made ~25
 * of a `GET /health`'s 38 promises; here the response halves run synchronously unless one really
 * waits (reading an unknown body back, compressing).
 *
 * Errors keep Hono's semantics: what a middleware half throws becomes the error handler's
 * problem+json in place of the response (as Hono's compose does for each layer), and the halves
 * outside it still run — the access line is written and the correlation id echoed for every
 * request, a 413 from the body limit included.
 */
import type { Context, ErrorHandler, MiddlewareHandler, Next } from "hono";
import { newMetrics, runWithContext } from "../context";
import { negotiateRequestLocale, varyProblemOnLanguage } from "../modules/i18n/middleware";
import { bodyLimit } from "./body-limit";
import { type CompressionOptions, compressResponse } from "./compression";
import { CORRELATION_HEADER, requestCorrelationId } from "./correlation";
import type { AppEnv } from "./env";
import { ifNoneMatchOf, tagResponse } from "./etag";
import { setResHeader } from "./headers";
import { logAccess } from "./request-log";

export interface PipelineOptions {
  bodyLimitBytes: number;
  /** The app's error handler (what Hono's compose would call for a throwing layer). */
  onError: ErrorHandler<AppEnv>;
  /**
   * Requests that get only the correlation id and the access line: their bodies are not ours to
   * limit, tag or encode (signed storage uploads and downloads the app serves itself).
   */
  bodyless?: (c: Context<AppEnv>) => boolean;
  compression?: CompressionOptions;
}

const CORRELATION_RESPONSE_HEADER = CORRELATION_HEADER.toLowerCase();

export function requestPipeline(options: PipelineOptions): MiddlewareHandler<AppEnv> {
  const limitBody = bodyLimit(options.bodyLimitBytes);

  /** As Hono's compose: an Error thrown by a layer becomes the error handler's response. */
  async function recover(c: Context<AppEnv>, err: unknown): Promise<void> {
    if (!(err instanceof Error)) throw err;
    c.error = err;
    c.res = await options.onError(err, c);
  }

  /** Runs a response half; a promise only when the half returned one or threw. */
  function after(c: Context<AppEnv>, half: () => Promise<void> | undefined): Promise<void> | undefined {
    try {
      const pending = half();
      return pending?.catch((err: unknown) => recover(c, err));
    } catch (err) {
      return recover(c, err);
    }
  }

  async function inner(c: Context<AppEnv>, next: Next): Promise<void> {
    negotiateRequestLocale(c);
    let wanted: ReturnType<typeof ifNoneMatchOf>;
    try {
      wanted = ifNoneMatchOf(c);
      await limitBody(c, next);
    } catch (err) {
      await recover(c, err);
    }
    varyProblemOnLanguage(c);
    const tagged = after(c, () => tagResponse(c, wanted));
    if (tagged) await tagged;
    const encoded = after(c, () => compressResponse(c, options.compression));
    if (encoded) await encoded;
  }

  async function around(c: Context<AppEnv>, next: Next, started: number, id: string): Promise<void> {
    if (options.bodyless?.(c)) await next();
    else await inner(c, next);
    const logged = logAccess(c, started);
    if (logged) await logged;
    setResHeader(c.res, CORRELATION_RESPONSE_HEADER, id);
  }

  return function pipeline(c, next) {
    const started = performance.now();
    const id = requestCorrelationId(c);
    return runWithContext({ correlationId: id, metrics: newMetrics() }, () => around(c, next, started, id));
  };
}
