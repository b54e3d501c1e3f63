/**
 * The one error vocabulary, free of any transport: a closed list of codes, each bound to one
 * status (the code decides it, so the table lives with the codes), and `ApiError`. Verbs, jobs,
 * queue consumers and rooms throw `new ApiError("NOT_FOUND", "apartment 12 not found")`;
 * `src/http/errors.ts` renders it as RFC 9457 problem+json.
 */

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

export const STATUS_TITLES: Record<number, string> = {
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
    super(detail ?? STATUS_TITLES[ERROR_CODES[code]] ?? code, { cause: options.cause });
    this.name = "ApiError";
    this.status = ERROR_CODES[code];
    this.errors = options.errors;
    this.extensions = options.extensions;
    this.headers = options.headers;
  }
}
