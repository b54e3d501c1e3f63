import type { App } from "../../../http/env";
import { defineRoute } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { RefreshTokenSchema } from "../schemas";
import { logout } from "../sessions";

const route = defineRoute({
  method: "post",
  operationId: "logout",
  path: "/auth/logout",
  tags: ["Auth"],
  summary: "Sign out: revoke the refresh token and every token of its sign-in",
  description:
    "Idempotent: an unknown or already revoked token also answers 204 (RFC 7009 §2.2). Access tokens stay valid until they expire (minutes).",
  access: "public",
  request: { body: { required: true, content: { "application/json": { schema: RefreshTokenSchema } } } },
  responses: { 204: { description: "Signed out" } },
});

export function registerLogout(app: App) {
  app.openapi(route, async (c) => {
    await logout(verbContext(c), c.req.valid("json").refreshToken);
    return c.body(null, 204);
  });
}
