/**
 * Rate limiting (design property 12), mounted for every versioned route ahead of auth (the
 * write path in ARCHITECTURE.md: correlation → log → rate limit → auth). Decisions:
 *
 * - Who: the authenticated user when the request proves one, else the client IP. Because it runs
 *   before the auth middleware, it reads a user already put in the context (`c.var.auth`,
 *   `currentContext().userId`) and otherwise verifies the bearer access token through
 *   `bearerClaims` (the one verification requireAuth then reuses); an invalid token
 *   counts against the IP, and auth then refuses it.
 * - Class: `auth` when the path (after `/api/vN`) contains one of RATE_LIMIT_AUTH_PATHS, `read`
 *   for GET/HEAD/OPTIONS and for the POSTs that only read (READ_POSTS: a sync pull carries its
 *   cursors in a body, and a device pulls on every poke), `write` otherwise; each class has its own rule and counter
 *   (RATE_LIMIT_AUTH / _WRITE / _READ, `<requests>/<window>`). A route may add a stricter class
 *   with `rateLimit({ only: "auth" })` in its own middleware list.
 * - Headers (draft-ietf-httpapi-ratelimit-headers): `RateLimit-Limit`, `RateLimit-Remaining`,
 *   `RateLimit-Reset` (delta seconds) and `RateLimit-Policy` on every limited response; a refusal
 *   is 429 RATE_LIMITED with `Retry-After` in seconds (RFC 9110 §10.2.3).
 * - Backend slower than RATE_LIMIT_TIMEOUT_MS or failing: reads and writes fail open (served,
 *   without RateLimit headers, logged); auth routes fail closed with 503 DEPENDENCY_UNAVAILABLE
 *   and `Retry-After`, because a credential-guessing window matters more than availability
 *   and 429 would wrongly tell the client it exceeded a limit. An operator would rather lose
 *   request quotas for a few minutes than have a limiter outage take the whole API down with it;
 *   sign-in is the one place where an unlimited window is worse than refusing. After 5 failures
 *   in a row the limiter's breaker opens (platform/ratelimit): for 30 s requests skip the backend
 *   at once instead of each waiting out the timeout; failures are logged as warnings, refusals of
 *   the open breaker only at debug (the failures that opened it were logged already).
 */
import type { Context, MiddlewareHandler } from "hono";
import { currentContext } from "../context";
import { ApiError } from "../errors";
import { limitWithin, type RateLimitDecision, type RateLimitRule } from "../platform/ratelimit";
import { bearerClaims } from "./auth";
import { clientIp } from "./client-ip";
import type { AppEnv } from "./env";
import { resHeader, setResHeader } from "./headers";

export type RateLimitClass = "auth" | "write" | "read";
export const RATE_LIMIT_CLASSES: readonly RateLimitClass[] = ["auth", "write", "read"];
const FAIL_OPEN: Record<RateLimitClass, boolean> = { auth: false, write: true, read: true };

export interface RateLimitOptions {
  /** Force one class (route-level use) instead of classifying by path and method. */
  only?: RateLimitClass;
  /** Override the caller identity (tests, API keys). */
  identify?: (c: Context<AppEnv>) => Promise<string> | string;
}

/** POST routes (path after `/api/vN`) that change nothing but bookkeeping: counted as reads. */
export const READ_POSTS: readonly string[] = ["/sync/pull"];

export function classify(method: string, path: string, authPaths: readonly string[]): RateLimitClass {
  const rest = path.replace(/^\/api\/v\d+/, "");
  if (authPaths.some((p) => rest.includes(p))) return "auth";
  if (method === "GET" || method === "HEAD" || method === "OPTIONS") return "read";
  return method === "POST" && READ_POSTS.includes(rest) ? "read" : "write";
}

export function ruleFor(c: Context<AppEnv>, cls: RateLimitClass): RateLimitRule {
  const cfg = c.get("services").config;
  const spec =
    cls === "auth" ? cfg.RATE_LIMIT_AUTH : cls === "write" ? cfg.RATE_LIMIT_WRITE : cfg.RATE_LIMIT_READ;
  return { name: cls, limit: spec.limit, windowSeconds: spec.windowSeconds };
}

/** `user:<id>` when the request carries a proven user, else `ip:<address>`. */
export async function callerKey(c: Context<AppEnv>): Promise<string> {
  const known = c.get("auth")?.userId ?? currentContext()?.userId;
  if (known) return `user:${known}`;
  // Shares the one verification requireAuth will use; an invalid token counts against the IP.
  const claims = await bearerClaims(c);
  if (claims && !(claims instanceof ApiError)) return `user:${claims.userId}`;
  return `ip:${clientIp(c)}`;
}

export function rateLimitHeaders(d: RateLimitDecision, rule: RateLimitRule): Record<string, string> {
  return {
    "RateLimit-Limit": String(d.limit),
    "RateLimit-Remaining": String(d.remaining),
    "RateLimit-Reset": String(Math.ceil(d.resetMs / 1000)),
    "RateLimit-Policy": `${rule.limit};w=${rule.windowSeconds}`,
  };
}

export function rateLimit(options: RateLimitOptions = {}): MiddlewareHandler<AppEnv> {
  return async function rateLimitMiddleware(c, next) {
    const services = c.get("services");
    const cfg = services.config;
    if (!cfg.RATE_LIMIT_ENABLED) return next();
    const cls = options.only ?? classify(c.req.method, c.req.path, cfg.RATE_LIMIT_AUTH_PATHS);
    const rule = ruleFor(c, cls);
    const who = options.identify ? await options.identify(c) : await callerKey(c);
    const outcome = await limitWithin(services.rateLimiter, `${who}`, rule, cfg.RATE_LIMIT_TIMEOUT_MS);

    if (outcome.kind === "unavailable") {
      const line = { event: "rate_limit_unavailable", class: cls, reason: outcome.reason };
      if (outcome.reason !== "open") {
        services.logger.warn({ ...line, err: String(outcome.error ?? "") }, "rate limiter unavailable");
      } else if (services.logger.isLevelEnabled("debug")) {
        services.logger.debug(line, "rate limiter breaker open");
      }
      if (FAIL_OPEN[cls]) return next();
      const retryAfter = Math.max(1, Math.ceil((outcome.retryAfterMs ?? 0) / 1000));
      throw new ApiError("DEPENDENCY_UNAVAILABLE", "rate limiting is unavailable; retry shortly", {
        headers: { "Retry-After": String(retryAfter) },
      });
    }

    const decision = outcome.decision;
    const headers = rateLimitHeaders(decision, rule);
    if (!decision.success) {
      const retryAfter = Math.max(1, Math.ceil(decision.resetMs / 1000));
      throw new ApiError("RATE_LIMITED", `too many ${cls} requests; retry in ${retryAfter} s`, {
        headers: { ...headers, "Retry-After": String(retryAfter) },
        extensions: { class: cls, limit: decision.limit, retryAfterSeconds: retryAfter },
      });
    }
    await next();
    // A route-level limiter runs after the global one: keep the tighter budget in the headers.
    // resHeader/setResHeader: on Node, c.res.headers would build an undici Headers per response.
    const current = Number(resHeader(c.res, "ratelimit-remaining") ?? Number.POSITIVE_INFINITY);
    if (decision.remaining <= current)
      for (const [k, v] of Object.entries(headers)) setResHeader(c.res, k.toLowerCase(), v);
  };
}
