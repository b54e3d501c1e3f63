import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { createAccount } from "../accounts";
import { ProfileSchema, RegisterSchema } from "../schemas";

const route = defineRoute({
  method: "post",
  operationId: "register",
  path: "/auth/register",
  tags: ["Auth"],
  summary: "Create an account",
  description:
    "Emails are unique regardless of letter case (409 ALREADY_EXISTS). A password that breaks the policy answers 400 WEAK_PASSWORD listing every unmet rule in `errors`.",
  access: "public",
  request: { body: { required: true, content: { "application/json": { schema: RegisterSchema } } } },
  responses: { 201: jsonContent(ProfileSchema, "The new account's profile") },
  errors: [409],
});

export function registerRegister(app: App) {
  app.openapi(route, async (c) => {
    const profile = await createAccount(verbContext(c), c.req.valid("json"));
    c.header("Location", `${new URL(c.req.url).pathname.replace(/\/auth\/register$/, "/me")}`);
    return c.json(profile, 201);
  });
}
