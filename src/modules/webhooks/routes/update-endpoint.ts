import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { toEndpoint, UpdateWebhookEndpointSchema, WebhookEndpointSchema } from "../schemas";
import { updateEndpoint } from "../verbs";
import { SCOPES, type ScopeKind, scoped, scopeOf } from "./common";

const route = (kind: ScopeKind) => {
  const s = scoped(kind, "/{endpointId}", "updateWebhookEndpoint");
  return defineRoute({
    method: "patch",
    operationId: s.operationId,
    path: s.path,
    tags: ["Webhooks"],
    summary: `Edit a webhook endpoint: URL, event types, description, active (${s.who})`,
    description:
      "A new URL passes the same checks as at registration. Turning a disabled endpoint back on clears its failure clock and closes its breaker.",
    access: s.access,
    request: {
      params: s.params,
      body: { required: true, content: { "application/json": { schema: UpdateWebhookEndpointSchema } } },
    },
    responses: { 200: jsonContent(WebhookEndpointSchema, "The endpoint") },
  });
};

export function registerUpdateEndpoint(app: App) {
  for (const kind of SCOPES) {
    app.openapi(route(kind), async (c) => {
      const row = await updateEndpoint({
        ctx: verbContext(c),
        scope: scopeOf(c),
        endpointId: c.req.param("endpointId")!,
        input: c.req.valid("json"),
      });
      return c.json(toEndpoint(row), 200);
    });
  }
}
