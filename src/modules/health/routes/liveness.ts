import { z } from "@hono/zod-openapi";
import type { App } from "../../../http/env";
import { plainJson } from "../../../http/headers";
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
    const s = c.get("services");
    const body: z.infer<typeof LivenessSchema> = {
      status: "ok",
      version: s.version,
      uptimeSeconds: Math.round((Date.now() - s.startedAt) / 1000),
      runtime: s.runtime,
    };
    // Plain headers, not c.header(): the probe every load balancer polls stays off undici's
    // Headers on Node (src/http/headers.ts).
    return plainJson(JSON.stringify(body), 200, { "cache-control": "no-store" }) as never;
  });
}
