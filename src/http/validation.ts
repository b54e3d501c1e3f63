import type { Hook } from "@hono/zod-openapi";
import { ApiError, type FieldError } from "../errors";
import type { AppEnv } from "./env";

/**
 * The validation hook of every route: a failed zod parse becomes 400 problem+json with one entry
 * per failing field (`body.email`, `query.limit`, `param.buildingId`).
 */
export const validationHook: Hook<unknown, AppEnv, string, unknown> = (result) => {
  if (result.success) return;
  const target = (result as { target?: string }).target ?? "request";
  const errors: FieldError[] = result.error.issues.slice(0, 100).map((issue) => ({
    path: [target, ...issue.path.map(String)].join("."),
    message: issue.message,
    code: issue.code,
  }));
  const unknownKeys = result.error.issues.some((i) => i.code === "unrecognized_keys");
  throw new ApiError(
    "VALIDATION_FAILED",
    unknownKeys ? `invalid ${target}: unknown fields are not accepted` : `invalid ${target}`,
    { errors },
  );
};
