import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import { ApiError } from "../../../errors";
import type { App, AppEnv } from "../../../http/env";
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

/**
 * A stream on a Worker looks at its queue every 100 ms instead of being woken from the
 * publisher's request, and writes a keep-alive every second: workerd only notices a client that
 * went away when a write fails (see buildingEventStream's pollMs and keepAliveMs).
 */
const WORKER_STREAM = { pollMs: 100, keepAliveMs: 1000 };

function waitUntil(c: Context<AppEnv>, work: Promise<unknown>): void {
  let ctx: { waitUntil(p: Promise<unknown>): void } | undefined;
  try {
    ctx = c.executionCtx;
  } catch {
    return; // Node and Bun: no ExecutionContext, and the process outlives the request anyway.
  }
  ctx.waitUntil(work.catch(() => {}));
}

export function registerStreamEvents(app: App) {
  registerRealtimeSchemas(app);
  app.openapi(route, (c) => {
    const { buildingId } = c.req.valid("param");
    const query = c.req.valid("query");
    const services = c.get("services");
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
      // Workers never cancel the response body when the client goes away; the request's signal
      // aborts (compatibility flag enable_request_signal). Node and Bun abort it on close too.
      c.req.raw.signal?.addEventListener("abort", () => aborted.abort(), { once: true });
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
        // A failed re-read (the Worker closes its Pool once the response has started) keeps the
        // answer buildingAccess gave a moment ago.
        stillAllowed: async () =>
          (await currentStanding(services.database.db, buildingId, auth.userId)).role === membership.role,
        ...(services.runtime === "workerd" ? WORKER_STREAM : {}),
      });
      const done = (async () => {
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
      })();
      // Workers: a client that disconnects cancels the response; the stream's cleanup (unsubscribe,
      // presence offline and leave) must still run to the end, not die with the request.
      waitUntil(c, done);
      await done;
    }) as never;
  });
}
