import { z } from "@hono/zod-openapi";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { replayFailedSince } from "../verbs";
import { SCOPES, type ScopeKind, scoped, scopeOf } from "./common";

const BodySchema = z
  .strictObject({
    since: z.iso
      .datetime({ offset: true })
      .refine((s) => {
        const y = new Date(s).getUTCFullYear();
        return y >= 2000 && y <= 9999;
      }, "a date between the years 2000 and 9999")
      .openapi({ example: "2026-12-01T00:00:00Z" }),
  })
  .openapi("ReplayFailedWebhookDeliveries");
const ResultSchema = z.object({ replayed: z.number().int() }).openapi("ReplayedWebhookDeliveries");

const route = (kind: ScopeKind) => {
  const s = scoped(kind, "/{endpointId}/replay", "replayFailedWebhookDeliveries");
  return defineRoute({
    method: "post",
    operationId: s.operationId,
    path: s.path,
    tags: ["Webhooks"],
    summary: `Send every failed event since a time again, oldest first, at most 1,000 (${s.who})`,
    access: s.access,
    request: {
      params: s.params,
      body: { required: true, content: { "application/json": { schema: BodySchema } } },
    },
    responses: { 202: jsonContent(ResultSchema, "How many deliveries are pending again") },
  });
};

export function registerReplayFailed(app: App) {
  for (const kind of SCOPES) {
    app.openapi(route(kind), async (c) => {
      const result = await replayFailedSince({
        ctx: verbContext(c),
        scope: scopeOf(c),
        endpointId: c.req.param("endpointId")!,
        since: new Date(c.req.valid("json").since),
      });
      return c.json(result, 202);
    });
  }
}
