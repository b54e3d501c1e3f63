import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { RefreshTokenSchema, TokensSchema } from "../schemas";
import { refresh } from "../sessions";

const route = defineRoute({
  method: "post",
  operationId: "refreshSession",
  path: "/auth/refresh",
  tags: ["Auth"],
  summary: "Exchange a refresh token for new tokens",
  description:
    "Rotates the refresh token: the presented one stops working. Presenting an already-used refresh token revokes every token of that sign-in (theft detection).",
  access: "public",
  request: { body: { required: true, content: { "application/json": { schema: RefreshTokenSchema } } } },
  responses: { 200: jsonContent(TokensSchema, "New tokens") },
  errors: [401],
});

export function registerRefresh(app: App) {
  app.openapi(route, async (c) => {
    const tokens = await refresh(verbContext(c), c.req.valid("json").refreshToken);
    return c.json(tokens, 200, { "Cache-Control": "no-store" });
  });
}
