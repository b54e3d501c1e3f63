import { CACHE_POLICIES } from "../../../http/cache-control";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { PaginationQuerySchema, paginatedSchema } from "../../../http/pagination";
import { verbContext } from "../../../verbs";
import { toAttempt, WebhookAttemptSchema } from "../schemas";
import { listAttempts } from "../verbs";
import { deliveryIdParam, SCOPES, type ScopeKind, scoped, scopeOf } from "./common";

const PageSchema = paginatedSchema(WebhookAttemptSchema, "WebhookAttemptPage");

const route = (kind: ScopeKind) => {
  const s = scoped(kind, "/{endpointId}/deliveries/{deliveryId}/attempts", "listWebhookAttempts", {
    deliveryId: deliveryIdParam(),
  });
  return defineRoute({
    method: "get",
    operationId: s.operationId,
    path: s.path,
    tags: ["Webhooks"],
    summary: `List a delivery's HTTP attempts (status, first 1 KB of the answer), newest first (${s.who})`,
    access: s.access,
    request: { params: s.params, query: PaginationQuerySchema },
    responses: { 200: jsonContent(PageSchema, "A page of attempts") },
  });
};

export function registerListAttempts(app: App) {
  for (const kind of SCOPES) {
    app.openapi(route(kind), async (c) => {
      const page = await listAttempts({
        ctx: verbContext(c),
        scope: scopeOf(c),
        endpointId: c.req.param("endpointId")!,
        messageId: c.req.param("deliveryId")!,
        query: c.req.valid("query"),
      });
      return c.json({ data: page.data.map(toAttempt), pagination: page.pagination }, 200, {
        "Cache-Control": CACHE_POLICIES.privateRevalidate,
      });
    });
  }
}
