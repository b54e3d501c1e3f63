/**
 * The one error vocabulary: a closed list of codes, each bound to one HTTP status, rendered as
 * RFC 9457 problem+json. A handler throws `new ApiError("NOT_FOUND", "apartment 12 not found")`;
 * the code decides the status. 5xx bodies never carry the internal message.
 */
import { z } from "@hono/zod-openapi";
import { withBody } from "./body";

export const ERROR_CODES = {
  BAD_REQUEST: 400,
  VALIDATION_FAILED: 400,
  MALFORMED_JSON: 400,
  INVALID_CURSOR: 400,
  UNKNOWN_FIELDS: 400,
  WEAK_PASSWORD: 400,
  UNAUTHENTICATED: 401,
  TOKEN_EXPIRED: 401,
  INVALID_CREDENTIALS: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  REQUEST_TIMEOUT: 408,
  CONFLICT: 409,
  ALREADY_EXISTS: 409,
  INVALID_TRANSITION: 409,
  GONE: 410,
  VERSION_SUNSET: 410,
  RESNAPSHOT_REQUIRED: 410,
  PRECONDITION_FAILED: 412,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNPROCESSABLE: 422,
  UPGRADE_REQUIRED: 426,
  PRECONDITION_REQUIRED: 428,
  RATE_LIMITED: 429,
  HEADERS_TOO_LARGE: 431,
  INTERNAL: 500,
  BAD_ENVIRONMENT: 500,
  DEPENDENCY_UNAVAILABLE: 503,
  NOT_READY: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;
export type ErrorStatus = (typeof ERROR_CODES)[ErrorCode];

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  412: "Precondition Failed",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  426: "Upgrade Required",
  428: "Precondition Required",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

export interface FieldError {
  path: string;
  message: string;
  code?: string;
}

export interface ApiErrorOptions {
  /** Per-field problems (validation failures, password rules). */
  errors?: FieldError[];
  /** Extra members of the problem document (for example `validFields`). */
  extensions?: Record<string, unknown>;
  /** Response headers the error requires (Retry-After, Allow, ...). */
  headers?: Record<string, string>;
  cause?: unknown;
}

export class ApiError extends Error {
  readonly status: ErrorStatus;
  readonly errors?: FieldError[];
  readonly extensions?: Record<string, unknown>;
  readonly headers?: Record<string, string>;

  constructor(
    readonly code: ErrorCode,
    detail?: string,
    options: ApiErrorOptions = {},
  ) {
    super(detail ?? TITLES[ERROR_CODES[code]] ?? code, { cause: options.cause });
    this.name = "ApiError";
    this.status = ERROR_CODES[code];
    this.errors = options.errors;
    this.extensions = options.extensions;
    this.headers = options.headers;
  }
}

export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: "https://horizon.dev/problems/not-found" }),
    title: z.string().openapi({ example: "Not Found" }),
    status: z.number().int().openapi({ example: 404 }),
    detail: z.string().openapi({ example: "apartment 12 not found" }),
    code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]),
    correlationId: z.string().openapi({ example: "9f1c2e7a-5d2b-4a57-9f0e-2f8c4b7d1a3e" }),
    instance: z.string().optional(),
    errors: z
      .array(z.object({ path: z.string(), message: z.string(), code: z.string().optional() }))
      .optional(),
  })
  .catchall(z.unknown())
  .openapi("Problem");

export type Problem = z.infer<typeof ProblemSchema>;

export function problemType(code: ErrorCode): string {
  return `https://horizon.dev/problems/${code.toLowerCase().replaceAll("_", "-")}`;
}

/** Renders an ApiError as a problem document. 5xx details are replaced by the generic title. */
export function toProblem(err: ApiError, correlationId: string, instance?: string): Problem {
  const status = err.status;
  const title = TITLES[status] ?? "Error";
  const detail =
    status >= 500 &&
    err.code !== "BAD_ENVIRONMENT" &&
    err.code !== "NOT_READY" &&
    err.code !== "DEPENDENCY_UNAVAILABLE"
      ? "The server could not complete the request. Quote the correlation id when reporting it."
      : err.message;
  return {
    ...(err.extensions ?? {}),
    type: problemType(err.code),
    title,
    status,
    detail,
    code: err.code,
    correlationId,
    ...(instance ? { instance } : {}),
    ...(err.errors?.length ? { errors: err.errors } : {}),
  };
}

export function problemResponse(err: ApiError, correlationId: string, instance?: string): Response {
  const headers = new Headers(err.headers);
  headers.set("content-type", "application/problem+json");
  headers.set("x-correlation-id", correlationId);
  const text = JSON.stringify(toProblem(err, correlationId, instance));
  return withBody(new Response(text, { status: err.status, headers }), text);
}
