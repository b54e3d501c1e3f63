import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { WebhookHealthSchema } from "../schemas";
import { endpointHealth } from "../verbs";
import { SCOPES, type ScopeKind, scoped, scopeOf } from "./common";

const route = (kind: ScopeKind) => {
  const s = scoped(kind, "/{endpointId}/health", "getWebhookEndpointHealth");
  return defineRoute({
    method: "get",
    operationId: s.operationId,
    path: s.path,
    tags: ["Webhooks"],
    summary: `Endpoint health: 24 h success rate, last error, breaker state (${s.who})`,
    access: s.access,
    request: { params: s.params },
    responses: { 200: jsonContent(WebhookHealthSchema, "The endpoint's health") },
  });
};

export function registerEndpointHealth(app: App) {
  for (const kind of SCOPES) {
    app.openapi(route(kind), async (c) => {
      c.header("Cache-Control", "no-store");
      const h = await endpointHealth({
        ctx: verbContext(c),
        scope: scopeOf(c),
        endpointId: c.req.param("endpointId")!,
      });
      return c.json(
        {
          endpointId: h.endpoint.id,
          active: h.endpoint.active,
          disabledReason: h.endpoint.disabledReason,
          failingSince: h.endpoint.failingSince?.toISOString() ?? null,
          attempts24h: h.attempts24h,
          successRate: h.successRate,
          lastError: h.lastError
            ? {
                statusCode: h.lastError.statusCode,
                error: h.lastError.error,
                at: h.lastError.createdAt.toISOString(),
              }
            : null,
          breaker: { state: h.breaker.state, retryAfterMs: Math.round(h.breaker.retryAfterMs) },
        },
        200,
      );
    });
  }
}
