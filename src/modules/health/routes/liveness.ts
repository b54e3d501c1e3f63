import { z } from "@hono/zod-openapi";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";

export const LivenessSchema = z
  .object({
    status: z.literal("ok"),
    version: z.string(),
    uptimeSeconds: z.number(),
    runtime: z.enum(["bun", "node", "workerd"]),
  })
  .openapi("Liveness");

const route = defineRoute({
  method: "get",
  operationId: "getLiveness",
  path: "/health",
  tags: ["Health"],
  summary: "Liveness: the process answers",
  responses: { 200: jsonContent(LivenessSchema, "The process is alive") },
});

export function registerLiveness(app: App) {
  app.openapi(route, (c) => {
    const s = c.var.services;
    c.header("Cache-Control", "no-store");
    return c.json(
      {
        status: "ok" as const,
        version: s.version,
        uptimeSeconds: Math.round((Date.now() - s.startedAt) / 1000),
        runtime: s.runtime,
      },
      200,
    );
  });
}
