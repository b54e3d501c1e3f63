import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { toDelivery, WebhookDeliverySchema } from "../schemas";
import { replayMessage } from "../verbs";
import { deliveryIdParam, SCOPES, type ScopeKind, scoped, scopeOf } from "./common";

const route = (kind: ScopeKind) => {
  const s = scoped(kind, "/{endpointId}/deliveries/{deliveryId}/replay", "replayWebhookDelivery", {
    deliveryId: deliveryIdParam(),
  });
  return defineRoute({
    method: "post",
    operationId: s.operationId,
    path: s.path,
    tags: ["Webhooks"],
    summary: `Send a delivered or failed event again, same webhook-id (${s.who})`,
    description: "409 while the delivery is still pending or held.",
    access: s.access,
    request: { params: s.params },
    responses: { 202: jsonContent(WebhookDeliverySchema, "The delivery, pending again") },
    errors: [409],
  });
};

export function registerReplayDelivery(app: App) {
  for (const kind of SCOPES) {
    app.openapi(route(kind), async (c) => {
      const row = await replayMessage({
        ctx: verbContext(c),
        scope: scopeOf(c),
        endpointId: c.req.param("endpointId")!,
        messageId: c.req.param("deliveryId")!,
      });
      return c.json(toDelivery(row), 202);
    });
  }
}
