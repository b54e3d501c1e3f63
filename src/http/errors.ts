/**
 * HTTP rendering of the error vocabulary (`src/errors.ts`): RFC 9457 problem+json documents and
 * responses. 5xx bodies never carry the internal message.
 */
import { z } from "@hono/zod-openapi";
import { type ApiError, ERROR_CODES, type ErrorCode } from "../errors";
import type { Locale } from "../modules/i18n/locales";
import { problemTitle } from "../modules/i18n/problem-title";
import { withBody } from "./body";

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

/**
 * Renders an ApiError as a problem document. 5xx details are replaced by the generic title. The
 * title is in `locale` (default English); the code never changes with it.
 */
export function toProblem(err: ApiError, correlationId: string, instance?: string, locale?: Locale): Problem {
  const status = err.status;
  const title = problemTitle(err.code, locale);
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

export function problemResponse(
  err: ApiError,
  correlationId: string,
  instance?: string,
  locale?: Locale,
): Response {
  const headers = new Headers(err.headers);
  headers.set("content-type", "application/problem+json");
  headers.set("x-correlation-id", correlationId);
  const text = JSON.stringify(toProblem(err, correlationId, instance, locale));
  if (locale) headers.set("content-language", locale);
  return withBody(new Response(text, { status: err.status, headers }), text);
}
