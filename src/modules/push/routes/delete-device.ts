import type { App } from "../../../http/env";
import { defineRoute } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { DeviceParams } from "../schemas";
import { deleteDevice } from "../verbs";

const route = defineRoute({
  method: "delete",
  operationId: "deletePushDevice",
  path: "/me/devices/{deviceId}",
  tags: ["Push devices"],
  summary: "Unregister one of the caller's devices (sign-out on that device)",
  access: "user",
  request: { params: DeviceParams },
  responses: { 204: { description: "Deleted" } },
  errors: [404],
});

export function registerDeleteDevice(app: App) {
  app.openapi(route, async (c) => {
    await deleteDevice(verbContext(c), c.req.valid("param").deviceId);
    return c.body(null, 204);
  });
}
