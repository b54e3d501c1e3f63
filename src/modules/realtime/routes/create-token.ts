import { z } from "@hono/zod-openapi";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { issueRoomToken } from "../verbs";

const RoomTokenRequestSchema = z
  .strictObject({
    buildingId: z.uuid(),
    deviceId: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[A-Za-z0-9._:-]+$/, "letters, digits and . _ : - only")
      .openapi({ description: "Stable id of the client device; presence is tracked per device" }),
  })
  .openapi("RoomTokenRequest");

const RoomTokenSchema = z
  .object({
    token: z.string().openapi({ description: "Pass as `?token=` when connecting to the room" }),
    expiresAt: z.string().openapi({ format: "date-time" }),
    buildingId: z.uuid(),
    role: z.enum(["manager", "resident"]),
    room: z.object({
      party: z.literal("building"),
      path: z.string().openapi({ example: "/parties/building/6a1c…" }),
      host: z.string().nullable().openapi({ description: "PartyKit host; null = this API's own host" }),
    }),
  })
  .openapi("RoomToken");

const route = defineRoute({
  method: "post",
  operationId: "createRoomToken",
  path: "/realtime/token",
  tags: ["Realtime"],
  summary: "A short-lived token to join a building's live room (members only)",
  access: "user",
  request: { body: { required: true, content: { "application/json": { schema: RoomTokenRequestSchema } } } },
  responses: { 200: jsonContent(RoomTokenSchema, "The room token") },
  errors: [404],
});

export function registerCreateRoomToken(app: App) {
  app.openapi(route, async (c) => {
    const input = c.req.valid("json");
    const { token, expiresAt, role } = await issueRoomToken({ ctx: verbContext(c), input });
    c.header("Cache-Control", "no-store");
    return c.json(
      {
        token,
        expiresAt: expiresAt.toISOString(),
        buildingId: input.buildingId,
        role,
        room: {
          party: "building" as const,
          path: `/parties/building/${input.buildingId}`,
          host: c.get("services").config.PARTYKIT_HOST ?? null,
        },
      },
      200,
    );
  });
}
