/**
 * WebSocket upgrades on Bun.serve, for the standalone host under Bun. Same gateway as the Node
 * transport: authorize before `server.upgrade`, frames in order per connection, and
 * `maxPayloadLength` so Bun closes oversized frames with 1009 itself.
 */
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
      server: { upgrade(req: Request, options: { data: SocketData<C, H> }): boolean },
    ): Promise<Response | undefined | null> {
      const url = new URL(req.url);
      const roomId = gateway.match(url.pathname);
      if (!roomId) return null;
      if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
        return new Response("WebSocket upgrade required", { status: 426, headers: { upgrade: "websocket" } });
      }
      const auth = await gateway.authorize(req.url, roomId);
      if (!auth.ok) return auth.response;
      const ok = server.upgrade(req, { data: { roomId, claims: auth.claims, id: crypto.randomUUID() } });
      return ok ? undefined : new Response("upgrade failed", { status: 400 });
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
