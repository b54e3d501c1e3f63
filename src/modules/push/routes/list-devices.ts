import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { DeviceListSchema, toDevice } from "../schemas";
import { listDevices } from "../verbs";

const route = defineRoute({
  method: "get",
  operationId: "listPushDevices",
  path: "/me/devices",
  tags: ["Push devices"],
  summary: "The caller's registered push devices, most recently seen first (at most 20)",
  access: "user",
  responses: { 200: jsonContent(DeviceListSchema, "Devices") },
});

export function registerListDevices(app: App) {
  app.openapi(route, async (c) => {
    const rows = await listDevices(verbContext(c));
    return c.json({ items: rows.map(toDevice) }, 200, { "Cache-Control": "private, no-cache" });
  });
}
