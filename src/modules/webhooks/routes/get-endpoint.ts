import { CACHE_POLICIES } from "../../../http/cache-control";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { toEndpoint, WebhookEndpointSchema } from "../schemas";
import { findEndpoint } from "../verbs";
import { SCOPES, type ScopeKind, scoped, scopeOf } from "./common";

const route = (kind: ScopeKind) => {
  const s = scoped(kind, "/{endpointId}", "getWebhookEndpoint");
  return defineRoute({
    method: "get",
    operationId: s.operationId,
    path: s.path,
    tags: ["Webhooks"],
    summary: `Read a webhook endpoint (${s.who})`,
    access: s.access,
    request: { params: s.params },
    responses: { 200: jsonContent(WebhookEndpointSchema, "The endpoint") },
  });
};

export function registerGetEndpoint(app: App) {
  for (const kind of SCOPES) {
    app.openapi(route(kind), async (c) => {
      const row = await findEndpoint(verbContext(c), scopeOf(c), c.req.param("endpointId")!);
      return c.json(toEndpoint(row), 200, { "Cache-Control": CACHE_POLICIES.privateRevalidate });
    });
  }
}
