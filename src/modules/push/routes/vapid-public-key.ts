import { ApiError } from "../../../errors";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { VapidKeySchema } from "../schemas";

const route = defineRoute({
  method: "get",
  operationId: "getVapidPublicKey",
  path: "/push/vapid-public-key",
  tags: ["Push devices"],
  summary: "The Web Push application server key browsers subscribe with",
  access: "public",
  responses: { 200: jsonContent(VapidKeySchema, "The VAPID public key") },
  errors: [404],
});

export function registerVapidPublicKey(app: App) {
  app.openapi(route, (c) => {
    const { services } = c.var;
    const publicKey = services.config.VAPID_PUBLIC_KEY ?? services.push?.vapidPublicKey;
    if (!publicKey) throw new ApiError("NOT_FOUND", "Web Push is not configured on this server");
    return c.json({ publicKey }, 200, { "Cache-Control": "public, max-age=3600" });
  });
}
