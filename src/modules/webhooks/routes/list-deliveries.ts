import { z } from "@hono/zod-openapi";
import { CACHE_POLICIES } from "../../../http/cache-control";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { PaginationQuerySchema, paginatedSchema } from "../../../http/pagination";
import { verbContext } from "../../../verbs";
import { toDelivery, WebhookDeliverySchema } from "../schemas";
import { listMessages } from "../verbs";
import { SCOPES, type ScopeKind, scoped, scopeOf } from "./common";

const PageSchema = paginatedSchema(WebhookDeliverySchema, "WebhookDeliveryPage");
const QuerySchema = PaginationQuerySchema.extend({
  status: z
    .enum(["pending", "held", "succeeded", "failed"])
    .optional()
    .openapi({ param: { name: "status", in: "query" } }),
});

const route = (kind: ScopeKind) => {
  const s = scoped(kind, "/{endpointId}/deliveries", "listWebhookDeliveries");
  return defineRoute({
    method: "get",
    operationId: s.operationId,
    path: s.path,
    tags: ["Webhooks"],
    summary: `List an endpoint's deliveries (one per event), newest first (${s.who})`,
    access: s.access,
    request: { params: s.params, query: QuerySchema },
    responses: { 200: jsonContent(PageSchema, "A page of deliveries") },
  });
};

export function registerListDeliveries(app: App) {
  for (const kind of SCOPES) {
    app.openapi(route(kind), async (c) => {
      const { status, ...query } = c.req.valid("query");
      const page = await listMessages({
        ctx: verbContext(c),
        scope: scopeOf(c),
        endpointId: c.req.param("endpointId")!,
        query,
        status,
      });
      return c.json({ data: page.data.map(toDelivery), pagination: page.pagination }, 200, {
        "Cache-Control": CACHE_POLICIES.privateRevalidate,
      });
    });
  }
}
