import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { DeviceSchema, RegisterDeviceSchema, toDevice } from "../schemas";
import { registerDevice } from "../verbs";

const route = defineRoute({
  method: "post",
  operationId: "registerPushDevice",
  path: "/me/devices",
  tags: ["Push devices"],
  summary: "Register (or refresh) a push token of one of the caller's devices",
  description:
    "One device per token: registering a token again refreshes it, and a token another account registered moves to the caller. " +
    "Web Push: send `PushSubscription.toJSON()` as `subscription`; its endpoint must be https and resolve to public addresses.",
  access: "user",
  request: { body: { required: true, content: { "application/json": { schema: RegisterDeviceSchema } } } },
  responses: {
    200: jsonContent(DeviceSchema, "The token was known: refreshed (and now the caller's)"),
    201: jsonContent(DeviceSchema, "Registered"),
  },
});

export function registerRegisterDevice(app: App) {
  app.openapi(route, async (c) => {
    const { device, created } = await registerDevice(verbContext(c), c.req.valid("json"));
    c.header("Location", `${new URL(c.req.url).pathname}/${device.id}`);
    return created ? c.json(toDevice(device), 201) : c.json(toDevice(device), 200);
  });
}
