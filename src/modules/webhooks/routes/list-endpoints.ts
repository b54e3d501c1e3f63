import { CACHE_POLICIES } from "../../../http/cache-control";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { PaginationQuerySchema, paginatedSchema } from "../../../http/pagination";
import { verbContext } from "../../../verbs";
import { toEndpoint, WebhookEndpointSchema } from "../schemas";
import { listEndpoints } from "../verbs";
import { SCOPES, type ScopeKind, scoped, scopeOf } from "./common";

const PageSchema = paginatedSchema(WebhookEndpointSchema, "WebhookEndpointPage");

const route = (kind: ScopeKind) => {
  const s = scoped(kind, "", "listWebhookEndpoints");
  return defineRoute({
    method: "get",
    operationId: s.operationId,
    path: s.path,
    tags: ["Webhooks"],
    summary:
      kind === "building"
        ? `List the building's webhook endpoints, newest first (${s.who})`
        : `List every webhook endpoint, platform and buildings', newest first (${s.who})`,
    access: s.access,
    request: { params: s.params, query: PaginationQuerySchema },
    responses: { 200: jsonContent(PageSchema, "A page of endpoints") },
  });
};

export function registerListEndpoints(app: App) {
  for (const kind of SCOPES) {
    app.openapi(route(kind), async (c) => {
      const page = await listEndpoints({
        ctx: verbContext(c),
        scope: scopeOf(c),
        query: c.req.valid("query"),
      });
      return c.json({ data: page.data.map(toEndpoint), pagination: page.pagination }, 200, {
        "Cache-Control": CACHE_POLICIES.privateRevalidate,
      });
    });
  }
}
