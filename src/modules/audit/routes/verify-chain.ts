import { z } from "@hono/zod-openapi";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { PLATFORM_SCOPE } from "../chain";
import { ChainReportSchema } from "../schemas";
import { verifyScope } from "../verbs";

const QuerySchema = z
  .object({
    scope: z.union([z.uuid(), z.literal(PLATFORM_SCOPE)]).openapi({
      param: { name: "scope", in: "query" },
      description: 'A building id, or "platform" for events outside any building (sign-ins, accounts)',
      example: PLATFORM_SCOPE,
    }),
  })
  .strict();

const route = defineRoute({
  method: "get",
  operationId: "verifyAuditChain",
  path: "/admin/audit/verify",
  tags: ["Audit"],
  summary: "Verify an audit chain and report its first broken link (platform administrators)",
  description:
    "Recomputes every hash of the scope in order. `valid: false` with `firstBroken` means a row was changed, removed or inserted behind the API.",
  access: "admin",
  request: { query: QuerySchema },
  responses: { 200: jsonContent(ChainReportSchema, "The chain report") },
});

export function registerVerifyAuditChain(app: App) {
  app.openapi(route, async (c) => {
    const report = await verifyScope(verbContext(c), c.req.valid("query").scope);
    return c.json(report, 200, { "Cache-Control": "no-store" });
  });
}
