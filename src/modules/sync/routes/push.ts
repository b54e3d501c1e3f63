import { z } from "@hono/zod-openapi";
import { jsonBody } from "../../../http/body";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { pushOps } from "../push";
import { SyncEntitySchema } from "../row-schemas";
import { DeviceId, PendingCounts } from "./pull";

const OpDoc = z
  .object({
    opId: z.string().openapi({ example: "ios-8f2c1d:000042" }),
    type: z.enum(["create", "update", "delete"]),
    // Documented as the closed set; the server still answers an unknown name per op (rejected
    // UNKNOWN_ENTITY) rather than failing the batch.
    entity: SyncEntitySchema,
    id: z.uuid(),
    fields: z
      .record(z.string(), z.unknown())
      .optional()
      .openapi({ description: "create: the row (with buildingId); update: the changed fields" }),
    hlc: z.string().openapi({ example: "001732900000000-000000-ios-8f2c1d" }),
  })
  .openapi("SyncOp");

const PushRequestSchema = z
  .strictObject({
    deviceId: DeviceId,
    // Each op is validated on its own by the verb, so one bad op is rejected alone.
    ops: z.array(z.unknown().openapi({ $ref: "#/components/schemas/SyncOp" } as never)).min(1),
    pending: PendingCounts,
  })
  .openapi("SyncPushRequest");

const OpResultSchema = z
  .object({
    opId: z.string(),
    status: z.enum(["applied", "superseded", "rejected"]),
    reason: z.string().optional().openapi({ example: "FORBIDDEN_FIELD" }),
    detail: z.string().optional(),
    version: z.number().int().optional(),
    buildingId: z.uuid().optional(),
    superseded: z
      .array(z.string())
      .optional()
      .openapi({ description: "Fields of the op that lost to newer writes" }),
    clampedHlc: z.string().optional(),
  })
  .openapi("SyncOpResult");

const route = defineRoute({
  method: "post",
  operationId: "syncPush",
  path: "/sync/push",
  tags: ["Sync"],
  summary: "Apply queued offline edits; idempotent by opId, last-write-wins per field",
  access: "user",
  request: { body: { required: true, content: { "application/json": { schema: PushRequestSchema } } } },
  responses: {
    200: jsonContent(
      z.object({ results: z.array(OpResultSchema) }).openapi("SyncPushResponse"),
      "One result per op, in order",
    ),
  },
});

export function registerPush(app: App) {
  app.openAPIRegistry.register("SyncOp", OpDoc);
  app.openapi(route, async (c) => {
    const body = c.req.valid("json");
    // Serialized here, so the response log takes the size of a 500-op batch's results without
    // reading them back.
    return jsonBody(c, JSON.stringify(await pushOps(verbContext(c), body))) as never;
  });
}
