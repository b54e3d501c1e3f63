import { z } from "@hono/zod-openapi";
import type { App } from "../../../http/env";
import { ApiError } from "../../../http/errors";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { checkReadiness } from "../verbs";

const CheckSchema = z.object({
  status: z.enum(["ok", "fail"]),
  durationMs: z.number(),
  error: z.string().optional(),
});

export const ReadinessSchema = z
  .object({ status: z.literal("ready"), checks: z.record(z.string(), CheckSchema) })
  .openapi("Readiness");

const route = defineRoute({
  method: "get",
  operationId: "getReadiness",
  path: "/health/ready",
  tags: ["Health"],
  summary: "Readiness: database, kv and configured storage answer",
  responses: { 200: jsonContent(ReadinessSchema, "Every dependency answered") },
  errors: [503],
});

export function registerReadiness(app: App) {
  app.openapi(route, async (c) => {
    const { ok, checks } = await checkReadiness(c.var.services);
    c.header("Cache-Control", "no-store");
    if (!ok) {
      const failing = Object.entries(checks)
        .filter(([, r]) => r.status === "fail")
        .map(([name]) => name);
      throw new ApiError("NOT_READY", `failing checks: ${failing.join(", ")}`, {
        extensions: { checks, failing },
        headers: { "Cache-Control": "no-store", "Retry-After": "5" },
      });
    }
    return c.json({ status: "ready" as const, checks }, 200);
  });
}
