import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { LoginSchema, TokensSchema } from "../schemas";
import { login } from "../sessions";

const route = defineRoute({
  method: "post",
  operationId: "login",
  path: "/auth/login",
  tags: ["Auth"],
  summary: "Sign in with email and password",
  description:
    "Returns a short-lived access token (JWT) and a single-use refresh token. Attempts are limited per account and per IP (429 with Retry-After).",
  access: "public",
  request: { body: { required: true, content: { "application/json": { schema: LoginSchema } } } },
  responses: { 200: jsonContent(TokensSchema, "Signed in") },
  // Attempts are counted in kv: with kv down sign-in fails closed (503), never unlimited.
  errors: [401, 403, 503],
});

export function registerLogin(app: App) {
  app.openapi(route, async (c) => {
    const tokens = await login(verbContext(c), c.req.valid("json"));
    return c.json(tokens, 200, { "Cache-Control": "no-store" });
  });
}
