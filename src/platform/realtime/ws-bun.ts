/**
 * WebSocket upgrades on Bun.serve, for the standalone host under Bun. Same gateway as the Node
 * transport: authorize before `server.upgrade`, frames in order per connection, and
 * `maxPayloadLength` so Bun closes oversized frames with 1009 itself.
 */
import { correlationIdOf, hostProblem } from "../../http/host-errors";
import type { RoomGateway } from "./gateway";

interface SocketData<C, H> {
  roomId: string;
  claims: C;
  id: string;
  opened?: Promise<H>;
  chain?: Promise<unknown>;
}

interface BunSocket<C, H> {
  data: SocketData<C, H>;
  send(data: string): unknown;
  close(code?: number, reason?: string): void;
  terminate?(): void;
}

export function bunWebSocket<C, H>(gateway: RoomGateway<C, H>) {
  return {
    /** Answers a room request (refusal or undefined after a successful upgrade); null when not a room. */
    async upgrade(
      req: Request,
      server: {
        upgrade(req: Request, options: { data: SocketData<C, H>; headers?: Record<string, string> }): boolean;
      },
    ): Promise<Response | undefined | null> {
      const url = new URL(req.url);
      const roomId = gateway.match(url.pathname);
      if (!roomId) return null;
      const correlationId = correlationIdOf(req.headers);
      if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") return upgradeRequired(correlationId);
      const auth = await gateway.authorize(req.url, roomId, correlationId);
      if (!auth.ok) return auth.response;
      const ok = server.upgrade(req, {
        data: { roomId, claims: auth.claims, id: crypto.randomUUID() },
        headers: { "x-correlation-id": correlationId },
      });
      return ok ? undefined : hostProblem("BAD_REQUEST", "the WebSocket handshake is invalid", correlationId);
    },
    websocket: {
      maxPayloadLength: gateway.maxFrameBytes,
      open(ws: BunSocket<C, H>) {
        const d = ws.data;
        d.opened = gateway.open(
          d.roomId,
          {
            id: d.id,
            send: (data) => void ws.send(data),
            close: (code, reason) => {
              ws.close(code, reason);
              setTimeout(() => ws.terminate?.(), 1000);
            },
          },
          d.claims,
        );
        d.chain = d.opened;
      },
      message(ws: BunSocket<C, H>, message: string | Uint8Array) {
        const d = ws.data;
        d.chain = (d.chain ?? Promise.resolve())
          .then(async () => gateway.message(await d.opened!, message))
          .catch(() => {});
      },
      close(ws: BunSocket<C, H>) {
        const d = ws.data;
        d.chain = (d.chain ?? Promise.resolve())
          .then(async () => gateway.close(await d.opened!))
          .catch(() => {});
      },
    },
  };
}

/** A room path asked for without `Upgrade: websocket` (RFC 9110 §15.5.22: 426 names the protocol). */
export function upgradeRequired(correlationId: string): Response {
  return hostProblem(
    "UPGRADE_REQUIRED",
    "this is a building room: connect with a WebSocket (Upgrade: websocket), or use GET /api/v1/buildings/{buildingId}/events for Server-Sent Events",
    correlationId,
    { upgrade: "websocket" },
  );
}
