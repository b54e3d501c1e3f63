/**
 * Route definition helpers: every route documents its request, its success response and the
 * problem+json responses it can answer, so /openapi.json is complete without repetition.
 */
import { createRoute, type RouteConfig, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { ERROR_CODES } from "../errors";
import { buildingAccess, requireAuth } from "./auth";
import { ProblemSchema } from "./errors";

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

const strings = z.array(z.string());
/**
 * The problem document as clients receive it: the RFC 9457 members, ours (`code`,
 * `correlationId`, `errors`), and every extension member a route sets (`extensions:` of an
 * ApiError anywhere in src/; test/contract/openapi-document.test.ts keeps this list complete).
 */
// Spread, not .extend(): an extended schema is documented as allOf its parent, and the parent is
// named "Problem" too, which would make the component refer to itself.
export const ProblemDocSchema = z
  .object({
    ...ProblemSchema.shape,
    currentEtag: z.string().optional().openapi({
      description:
        "412 PRECONDITION_FAILED: the current ETag (also in the ETag header); refetch or retry with it",
    }),
    unknownFields: strings
      .optional()
      .openapi({ description: "400 UNKNOWN_FIELDS: the names of `?fields=` that do not exist" }),
    validFields: strings
      .optional()
      .openapi({ description: "400 UNKNOWN_FIELDS: every name `?fields=` accepts here" }),
    maxBytes: z
      .number()
      .int()
      .optional()
      .openapi({ description: "413 PAYLOAD_TOO_LARGE: the body limit in bytes" }),
    maxOps: z
      .number()
      .int()
      .optional()
      .openapi({ description: "413 PAYLOAD_TOO_LARGE (sync push): ops allowed per push" }),
    class: z
      .enum(["auth", "write", "read"])
      .optional()
      .openapi({ description: "429 RATE_LIMITED: the limit class refused" }),
    limit: z
      .number()
      .int()
      .optional()
      .openapi({ description: "429 RATE_LIMITED: requests allowed per window" }),
    retryAfterSeconds: z
      .number()
      .int()
      .optional()
      .openapi({ description: "429 RATE_LIMITED: as Retry-After" }),
    retryAfter: z
      .number()
      .int()
      .optional()
      .openapi({ description: "429 RATE_LIMITED (sign-in attempts): seconds, as Retry-After" }),
    version: z.string().optional().openapi({ description: "410 VERSION_SUNSET: the retired version" }),
    sunsetAt: z
      .string()
      .optional()
      .openapi({ format: "date-time", description: "410 VERSION_SUNSET: when it was retired" }),
    migrationDoc: z.string().optional().openapi({ description: "410 VERSION_SUNSET: the migration guide" }),
    buildings: z
      .array(z.uuid())
      .optional()
      .openapi({ description: "410 RESNAPSHOT_REQUIRED: buildings to pull again with a null cursor" }),
    reason: z.string().optional().openapi({
      description:
        "400 BAD_REQUEST (a refused outbound URL: webhook endpoint, Web Push endpoint): scheme, port, private_address, ...",
    }),
    from: z.string().optional().openapi({ description: "409 INVALID_TRANSITION: the current status" }),
    to: z.string().optional().openapi({ description: "409 INVALID_TRANSITION: the status asked for" }),
    allowed: strings
      .optional()
      .openapi({ description: "409 INVALID_TRANSITION: the statuses reachable from `from`" }),
    checks: z
      .record(z.string(), z.object({ status: z.enum(["ok", "fail"]) }).catchall(z.unknown()))
      .optional()
      .openapi({ description: "503 NOT_READY: each readiness check" }),
    failing: strings.optional().openapi({ description: "503 NOT_READY: the checks that failed" }),
    protocol: z
      .number()
      .int()
      .optional()
      .openapi({ description: "426 UPGRADE_REQUIRED: the Horizon-Protocol version the client sent" }),
    minProtocol: z
      .number()
      .int()
      .optional()
      .openapi({ description: "426 UPGRADE_REQUIRED: the oldest protocol the server serves" }),
  })
  .catchall(z.unknown())
  .openapi("Problem");

export const problemContent = { "application/problem+json": { schema: ProblemDocSchema } };

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
  const body = (config.request as { body?: { required?: boolean } } | undefined)?.body;
  // A required JSON body sent as another media type (or none) is refused before validation.
  const bodyErrors: ErrorStatus[] = body ? (body.required ? [413, 415] : [413]) : [];
  const policy = ACCESS[access];
  const statuses = [...new Set([...ALWAYS, ...bodyErrors, ...policy.errors, ...errors])].sort();
  const own = (rest as { middleware?: MiddlewareHandler | MiddlewareHandler[] }).middleware;
  const middleware = [...policy.middleware, ...(own ? (Array.isArray(own) ? own : [own]) : [])];
  routeAccess.set(`${config.method.toUpperCase()} ${config.path}`, access);
  return createRoute({
    ...(rest as unknown as R),
    ...(middleware.length ? { middleware } : {}),
    // Public operations say so (`[]`), so a generator does not attach credentials to them.
    security: access === "public" ? [] : [{ bearerAuth: [] }],
    responses: { ...problemResponses(statuses), ...config.responses },
  });
}

export function jsonContent<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } };
}

export { ERROR_CODES, z };
