import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { CreateWebhookEndpointSchema, toEndpoint, WebhookEndpointWithSecretSchema } from "../schemas";
import { createEndpoint } from "../verbs";
import { SCOPES, type ScopeKind, scoped, scopeOf } from "./common";

const route = (kind: ScopeKind) => {
  const s = scoped(kind, "", "createWebhookEndpoint");
  return defineRoute({
    method: "post",
    operationId: s.operationId,
    path: s.path,
    tags: ["Webhooks"],
    summary: `Register a webhook endpoint (${s.who}); the signing secret is shown only in this answer`,
    description:
      "The URL must be https on port 443, 80 or 8443 and resolve to public addresses only (loopback, private, link-local, CGNAT, unique-local and mapped addresses are refused with 400); operators allowlist other hosts with OUTBOUND_ALLOW_HOSTS.",
    access: s.access,
    request: {
      params: s.params,
      body: { required: true, content: { "application/json": { schema: CreateWebhookEndpointSchema } } },
    },
    responses: { 201: jsonContent(WebhookEndpointWithSecretSchema, "The endpoint and its secret") },
  });
};

export function registerCreateEndpoint(app: App) {
  for (const kind of SCOPES) {
    app.openapi(route(kind), async (c) => {
      const { endpoint, secret } = await createEndpoint({
        ctx: verbContext(c),
        scope: scopeOf(c),
        input: c.req.valid("json"),
      });
      return c.json({ ...toEndpoint(endpoint), secret }, 201);
    });
  }
}
