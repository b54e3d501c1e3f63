import { z } from "@hono/zod-openapi";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { buildingPresence } from "../verbs";

const BuildingParams = z.object({
  buildingId: z.uuid().openapi({ param: { name: "buildingId", in: "path" } }),
});

const OnlineUserSchema = z
  .object({
    userId: z.uuid(),
    role: z.enum(["manager", "resident"]),
    since: z.string().openapi({ format: "date-time", description: "Earliest live connection" }),
    devices: z.array(z.object({ deviceId: z.string(), since: z.string() })),
  })
  .openapi("OnlineUser");

const PresenceSchema = z
  .object({ buildingId: z.uuid(), online: z.array(OnlineUserSchema) })
  .openapi("BuildingPresence");

const route = defineRoute({
  method: "get",
  operationId: "getPresence",
  path: "/buildings/{buildingId}/presence",
  tags: ["Realtime"],
  summary: "Who is online in the building now (a user stays online until their last device leaves)",
  access: "member",
  request: { params: BuildingParams },
  responses: { 200: jsonContent(PresenceSchema, "Online users") },
  // Presence lives in kv only: kv down answers 503 DEPENDENCY_UNAVAILABLE with Retry-After.
  errors: [503],
});

export function registerGetPresence(app: App) {
  app.openapi(route, async (c) => {
    const { buildingId } = c.req.valid("param");
    const online = await buildingPresence({ ctx: verbContext(c), buildingId });
    return c.json({ buildingId, online }, 200, { "Cache-Control": "no-store" });
  });
}
