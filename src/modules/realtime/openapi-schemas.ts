/**
 * The room protocol in the OpenAPI document, so generated clients get typed frames: the frames
 * a WebSocket client sends (ClientFrame) and receives (ServerFrame), and one Server-Sent Event of
 * GET /buildings/{buildingId}/events, whose `data` is a ServerFrame as JSON. The schemas are the
 * zod unions the room parses with (src/protocol/realtime.ts), converted as they are.
 */
import { z } from "@hono/zod-openapi";
import type { App } from "../../http/env";
import { ClientFrameSchema, ServerFrameSchema } from "../../protocol/realtime";

const FRAME_TYPES = ServerFrameSchema.options.map((o) => o.shape.type.value);

/** One event of the stream; the response body is a sequence of these (text/event-stream). */
export const ServerSentEventSchema = z
  .object({
    id: z
      .string()
      .regex(/^\d{1,19}$/)
      .optional()
      .openapi({ description: "Resume point: send it back as Last-Event-ID when reconnecting" }),
    event: z
      .enum(["open", ...FRAME_TYPES] as [string, ...string[]])
      .openapi({ description: "`open` first (data `{}`), then the type of the frame in `data`" }),
    data: z.string().openapi({
      description: "The ServerFrame as JSON (`{}` for `open`)",
      contentMediaType: "application/json",
      contentSchema: { $ref: "#/components/schemas/ServerFrame" },
    } as never),
    retry: z
      .number()
      .int()
      .optional()
      .openapi({ description: "Reconnection delay in ms (sent with `open`)" }),
  })
  .openapi("ServerSentEvent", {
    description:
      "One event of a building's stream. Between events the server writes `: keep-alive` comments.",
  });

/**
 * The protocol's unions as JSON Schema components. Converted with zod's own toJSONSchema rather
 * than registered as zod schemas: they are built with plain `zod`, and the registry would call
 * `.openapi()` on them, which only schemas created after @hono/zod-openapi extended zod have.
 */
export function registerRealtimeSchemas(app: App) {
  for (const [name, schema] of [
    ["ServerFrame", ServerFrameSchema],
    ["ClientFrame", ClientFrameSchema],
  ] as const) {
    const { $schema: _, ...json } = z.toJSONSchema(schema, { target: "draft-2020-12" }) as Record<
      string,
      unknown
    >;
    app.openAPIRegistry.registerComponent("schemas", name, json as never);
  }
}
