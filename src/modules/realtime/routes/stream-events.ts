import { z } from "@hono/zod-openapi";
import { streamSSE } from "hono/streaming";
import type { App } from "../../../http/env";
import { ApiError } from "../../../http/errors";
import { defineRoute } from "../../../http/openapi";
import { registerRealtimeSchemas, ServerSentEventSchema } from "../openapi-schemas";
import { buildingEventStream } from "../sse";
import { currentStanding } from "../verbs";

const BuildingParams = z.object({
  buildingId: z.uuid().openapi({ param: { name: "buildingId", in: "path" } }),
});

const StreamQuery = z.strictObject({
  deviceId: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[A-Za-z0-9._:-]+$/)
    .optional()
    .openapi({ description: "Device shown in presence (default: one per stream)" }),
  lastEventId: z
    .string()
    .regex(/^\d{1,19}$/)
    .optional()
    .openapi({ description: "Resume point, for clients that cannot send the Last-Event-ID header" }),
});

const route = defineRoute({
  method: "get",
  operationId: "streamBuildingEvents",
  path: "/buildings/{buildingId}/events",
  tags: ["Realtime"],
  summary: "The building's live events and presence as Server-Sent Events (WebSocket fallback), resumable",
  description:
    "Frames are the room protocol's server frames; `event:` is the frame type and `id:` the resume point. Send `Last-Event-ID` when reconnecting.",
  access: "member",
  request: {
    params: BuildingParams,
    query: StreamQuery,
    headers: z.object({
      "last-event-id": z
        .string()
        .regex(/^\d{1,19}$/)
        .optional(),
    }),
  },
  responses: {
    200: {
      description: "An event stream: a sequence of ServerSentEvent, each `data` one ServerFrame",
      content: { "text/event-stream": { schema: ServerSentEventSchema } },
    },
  },
  errors: [503],
});

export function registerStreamEvents(app: App) {
  registerRealtimeSchemas(app);
  app.openapi(route, (c) => {
    const { buildingId } = c.req.valid("param");
    const query = c.req.valid("query");
    const services = c.var.services;
    if (!services.realtime.subscribe) {
      throw new ApiError(
        "DEPENDENCY_UNAVAILABLE",
        "this host serves live events over its PartyKit rooms only",
      );
    }
    const resume = c.req.valid("header")["last-event-id"] ?? query.lastEventId;
    const auth = c.get("auth");
    const membership = c.get("membership");
    c.header("Cache-Control", "no-store");
    c.header("X-Accel-Buffering", "no");
    return streamSSE(c, async (stream) => {
      const aborted = new AbortController();
      stream.onAbort(() => aborted.abort());
      const events = buildingEventStream({
        services,
        buildingId,
        member: {
          userId: auth.userId,
          role: membership.role,
          deviceId: query.deviceId ?? `sse-${crypto.randomUUID().slice(0, 8)}`,
        },
        ...(resume !== undefined ? { afterSeq: Number(resume) } : {}),
        signal: aborted.signal,
        // Also refuses a restricted account, which buildingAccess (membership only) lets through.
        stillAllowed: async () =>
          (await currentStanding(services.database.db, buildingId, auth.userId)).role === membership.role,
      });
      try {
        await stream.writeSSE({ event: "open", data: "{}", retry: 2000 });
        for await (const item of events) {
          if (item === null) await stream.write(": keep-alive\n\n");
          else await stream.writeSSE(item);
          if (aborted.signal.aborted) break;
        }
      } finally {
        aborted.abort();
        await events.return(undefined);
      }
    }) as never;
  });
}
