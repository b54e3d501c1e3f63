import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { toDelivery, WebhookDeliverySchema } from "../schemas";
import { pingEndpoint } from "../verbs";
import { SCOPES, type ScopeKind, scoped, scopeOf } from "./common";

const route = (kind: ScopeKind) => {
  const s = scoped(kind, "/{endpointId}/ping", "pingWebhookEndpoint");
  return defineRoute({
    method: "post",
    operationId: s.operationId,
    path: s.path,
    tags: ["Webhooks"],
    summary: `Send a test \`ping\` event, signed like any delivery (${s.who})`,
    access: s.access,
    request: { params: s.params },
    responses: { 202: jsonContent(WebhookDeliverySchema, "The ping's delivery, pending") },
  });
};

export function registerPingEndpoint(app: App) {
  for (const kind of SCOPES) {
    app.openapi(route(kind), async (c) => {
      const row = await pingEndpoint({
        ctx: verbContext(c),
        scope: scopeOf(c),
        endpointId: c.req.param("endpointId")!,
      });
      return c.json(toDelivery(row), 202);
    });
  }
}
