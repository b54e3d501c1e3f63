import { z } from "@hono/zod-openapi";
import { ApiError } from "../../../errors";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { checkReadiness } from "../verbs";

const CheckSchema = z.object({
  status: z.enum(["ok", "fail", "degraded"]),
  durationMs: z.number(),
  error: z.string().optional(),
  due: z
    .number()
    .int()
    .optional()
    .openapi({ description: "outbox: pending events due now (counted up to the threshold + 1)" }),
  oldestDueAgeSeconds: z
    .number()
    .int()
    .optional()
    .openapi({ description: "outbox: how long the oldest due event has waited" }),
});

export const ReadinessSchema = z
  .object({
    status: z.enum(["ready", "degraded"]).openapi({
      description: "`degraded`: every dependency answers but the outbox backlog is past its threshold",
    }),
    checks: z.record(z.string(), CheckSchema),
  })
  .openapi("Readiness");

const route = defineRoute({
  method: "get",
  operationId: "getReadiness",
  path: "/health/ready",
  tags: ["Health"],
  summary: "Readiness: database, kv and configured storage answer; the outbox backlog is reported",
  responses: { 200: jsonContent(ReadinessSchema, "Every dependency answered") },
  errors: [503],
});

export function registerReadiness(app: App) {
  app.openapi(route, async (c) => {
    const { ok, degraded, checks } = await checkReadiness(c.get("services"));
    if (!ok) {
      const failing = Object.entries(checks)
        .filter(([, r]) => r.status === "fail")
        .map(([name]) => name);
      throw new ApiError("NOT_READY", `failing checks: ${failing.join(", ")}`, {
        extensions: { checks, failing },
        headers: { "Cache-Control": "no-store", "Retry-After": "5" },
      });
    }
    return c.json({ status: degraded ? ("degraded" as const) : ("ready" as const), checks }, 200, {
      "Cache-Control": "no-store",
    });
  });
}
