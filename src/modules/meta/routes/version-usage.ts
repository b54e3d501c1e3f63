import { z } from "@hono/zod-openapi";
import { setCacheControl } from "../../../http/cache-control";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { versionUsage } from "../../../http/versioning";

const VersionUsageSchema = z
  .object({
    version: z.string().openapi({ example: "v1" }),
    status: z.enum(["active", "deprecated", "sunset"]),
    deprecatedAt: z.string().nullable(),
    sunsetAt: z.string().nullable(),
    total: z.number().int().openapi({ description: "Requests over the listed days" }),
    days: z.array(
      z.object({ date: z.string().openapi({ example: "2026-03-01" }), requests: z.number().int() }),
    ),
  })
  .openapi("VersionUsage");

export const VersionUsageListSchema = z
  .object({ migrationDoc: z.string(), data: z.array(VersionUsageSchema) })
  .openapi("VersionUsageList");

const QuerySchema = z
  .object({
    days: z.coerce
      .number()
      .int()
      .min(1)
      .max(90)
      .default(30)
      .openapi({ description: "UTC days to report (1-90)" }),
  })
  .strict();

const route = defineRoute({
  method: "get",
  operationId: "getVersionUsage",
  path: "/meta/versions",
  tags: ["Meta"],
  summary: "API versions, their deprecation state and requests per day",
  request: { query: QuerySchema },
  responses: { 200: jsonContent(VersionUsageListSchema, "One entry per mounted version") },
  // The counts live in kv only: with kv down (or its breaker open) there is nothing to report.
  errors: [503],
});

export function registerVersionUsage(app: App) {
  app.openapi(route, async (c) => {
    const s = c.get("services");
    const data = await versionUsage(s.kv, s.config, s.clock.now(), c.req.valid("query").days);
    setCacheControl(c, { scope: "public", maxAge: 60, sMaxAge: 60 });
    return c.json({ migrationDoc: s.config.API_MIGRATION_DOC, data }, 200);
  });
}
