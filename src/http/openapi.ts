/**
 * Route definition helpers: every route documents its request, its success response and the
 * problem+json responses it can answer, so /openapi.json is complete without repetition.
 */
import { createRoute, type RouteConfig, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { buildingAccess, requireAuth } from "./auth";
import { ERROR_CODES, ProblemSchema } from "./errors";

type ErrorStatus = 400 | 401 | 403 | 404 | 405 | 409 | 410 | 412 | 413 | 415 | 422 | 428 | 429 | 500 | 503;

const DESCRIPTIONS: Record<ErrorStatus, string> = {
  400: "Invalid request (validation, malformed JSON, unknown fields)",
  401: "Missing, expired or invalid credentials",
  403: "Authenticated but not allowed",
  404: "Not found (also for objects of a building you do not belong to)",
  405: "Method not allowed",
  409: "Conflict with the current state",
  410: "Gone (sunset API version, expired sync cursor)",
  412: "If-Match precondition failed",
  413: "Request body too large",
  415: "Unsupported media type",
  422: "Semantically invalid",
  428: "Precondition required",
  429: "Rate limited; see Retry-After",
  500: "Internal error; quote the correlation id",
  503: "A dependency is unavailable",
};

export const problemContent = { "application/problem+json": { schema: ProblemSchema } };

export function problemResponses(statuses: readonly ErrorStatus[]) {
  const out: Record<string, { description: string; content: typeof problemContent }> = {};
  for (const s of statuses) out[String(s)] = { description: DESCRIPTIONS[s], content: problemContent };
  return out;
}

const ALWAYS: ErrorStatus[] = [400, 429, 500];

/**
 * Who may call a route:
 *  - public: anyone;  user: any signed-in user;  admin: platform administrators;
 *  - member: members of the path's `{buildingId}` (404 for others);  manager: its managers (403 for residents).
 */
export type Access = "public" | "user" | "admin" | "member" | "manager";

const ACCESS: Record<Access, { middleware: MiddlewareHandler<any>[]; errors: ErrorStatus[] }> = {
  public: { middleware: [], errors: [] },
  user: { middleware: [requireAuth()], errors: [401] },
  admin: { middleware: [requireAuth({ adminOnly: true })], errors: [401, 403] },
  member: { middleware: [requireAuth(), buildingAccess()], errors: [401, 404] },
  manager: { middleware: [requireAuth(), buildingAccess({ role: "manager" })], errors: [401, 403, 404] },
};

/** Which access each registered route declared, for the protected-route contract suite. */
export const routeAccess = new Map<string, Access>();

/**
 * createRoute plus: the access middleware and bearer security for `access`, the standard problem
 * responses (400, 429, 500; 413 with a body; 401/403/404 from access) and any extra `errors`.
 */
export function defineRoute<R extends RouteConfig>(
  config: R & { access?: Access; errors?: readonly ErrorStatus[] },
): R {
  const { errors = [], access = "public", ...rest } = config;
  const hasBody = Boolean((config.request as { body?: unknown } | undefined)?.body);
  const policy = ACCESS[access];
  const statuses = [
    ...new Set([...ALWAYS, ...(hasBody ? [413 as const] : []), ...policy.errors, ...errors]),
  ].sort();
  const own = (rest as { middleware?: MiddlewareHandler | MiddlewareHandler[] }).middleware;
  const middleware = [...policy.middleware, ...(own ? (Array.isArray(own) ? own : [own]) : [])];
  routeAccess.set(`${config.method.toUpperCase()} ${config.path}`, access);
  return createRoute({
    ...(rest as unknown as R),
    ...(middleware.length ? { middleware } : {}),
    ...(access === "public" ? {} : { security: [{ bearerAuth: [] }] }),
    responses: { ...problemResponses(statuses), ...config.responses },
  });
}

export function jsonContent<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } };
}

export { ERROR_CODES, z };
