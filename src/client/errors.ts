/** The SDK's one error type: a server problem+json, a network failure, or a local refusal. */
import type { ErrorCode } from "../errors";

/** Codes of errors the SDK raises itself (no server answer behind them). */
export type ClientErrorCode =
  | "NETWORK_ERROR"
  | "STORE_LOCKED"
  | "SIGNED_OUT"
  | "HTTP_ERROR"
  | "UPLOAD_CANCELLED";

/** RFC 9457 problem document as Horizon sends it (`code`, `correlationId`, extension members). */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code: ErrorCode;
  correlationId: string;
  instance?: string;
  errors?: Array<{ path: string; message: string; code?: string }>;
  [extension: string]: unknown;
}

export class HorizonError extends Error {
  constructor(
    /** The server's code (problem+json `code`), or one of the SDK's own. */
    readonly code: ErrorCode | ClientErrorCode,
    message: string,
    /** HTTP status; 0 when no response arrived. */
    readonly status = 0,
    readonly problem: Problem | null = null,
    /** Retry-After of the response, in ms. */
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "HorizonError";
  }

  get correlationId(): string | undefined {
    return this.problem?.correlationId;
  }

  /** Reads a failed response: its problem+json when it has one. */
  static async from(res: Response, now = Date.now()): Promise<HorizonError> {
    let body: unknown = null;
    try {
      body = await res.clone().json();
    } catch {
      // not JSON: a proxy's error page
    }
    return HorizonError.of(res, body, now);
  }

  /** From a response whose body was parsed already (openapi-fetch's `error`). */
  static of(res: Response, body: unknown, now = Date.now()): HorizonError {
    const b = body as Partial<Problem> | null;
    const problem = b && typeof b === "object" && typeof b.code === "string" ? (b as Problem) : null;
    return new HorizonError(
      problem?.code ?? "HTTP_ERROR",
      problem?.detail ?? `HTTP ${res.status}`,
      res.status,
      problem,
      retryAfterMs(res.headers.get("retry-after"), now),
    );
  }
}

export const isHorizonError = (e: unknown, code?: HorizonError["code"]): e is HorizonError =>
  e instanceof HorizonError && (code === undefined || e.code === code);

/** Retry-After as delay-seconds or an HTTP-date (RFC 9110 §10.2.3), in ms. */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
