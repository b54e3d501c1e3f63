import type { App } from "../../../http/env";
import { defineRoute } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { deleteEndpoint } from "../verbs";
import { SCOPES, type ScopeKind, scoped, scopeOf } from "./common";

const route = (kind: ScopeKind) => {
  const s = scoped(kind, "/{endpointId}", "deleteWebhookEndpoint");
  return defineRoute({
    method: "delete",
    operationId: s.operationId,
    path: s.path,
    tags: ["Webhooks"],
    summary: `Delete a webhook endpoint with its delivery history (${s.who})`,
    access: s.access,
    request: { params: s.params },
    responses: { 204: { description: "Deleted" } },
  });
};

export function registerDeleteEndpoint(app: App) {
  for (const kind of SCOPES) {
    app.openapi(route(kind), async (c) => {
      await deleteEndpoint({
        ctx: verbContext(c),
        scope: scopeOf(c),
        endpointId: c.req.param("endpointId")!,
      });
      return c.body(null, 204);
    });
  }
}
