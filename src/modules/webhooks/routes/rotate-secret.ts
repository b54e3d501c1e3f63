import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { toEndpoint, WebhookEndpointWithSecretSchema } from "../schemas";
import { rotateSecret } from "../verbs";
import { SCOPES, type ScopeKind, scoped, scopeOf } from "./common";

const route = (kind: ScopeKind) => {
  const s = scoped(kind, "/{endpointId}/rotate-secret", "rotateWebhookEndpointSecret");
  return defineRoute({
    method: "post",
    operationId: s.operationId,
    path: s.path,
    tags: ["Webhooks"],
    summary: `Rotate the signing secret (${s.who}); the new one is shown only in this answer`,
    description:
      "For 24 hours deliveries carry two signatures (new and previous secret, space separated in webhook-signature), so receivers can switch at their own pace.",
    access: s.access,
    request: { params: s.params },
    responses: { 200: jsonContent(WebhookEndpointWithSecretSchema, "The endpoint and its new secret") },
  });
};

export function registerRotateSecret(app: App) {
  for (const kind of SCOPES) {
    app.openapi(route(kind), async (c) => {
      const { endpoint, secret } = await rotateSecret({
        ctx: verbContext(c),
        scope: scopeOf(c),
        endpointId: c.req.param("endpointId")!,
      });
      return c.json({ ...toEndpoint(endpoint), secret }, 200);
    });
  }
}
