/**
 * WebSocket upgrades on a Node HTTP server (`ws`), for the standalone host under Node. The
 * gateway authorizes before the handshake completes: a refused client gets the HTTP 401 answer
 * and never a socket. `maxPayload` makes `ws` close oversized frames with 1009 itself.
 */
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import { correlationIdOf, hostProblem } from "../../http/host-errors";
import type { RoomGateway } from "./gateway";

async function writeResponse(socket: Duplex, response: Response): Promise<void> {
  const body = await response.text();
  const head = [`HTTP/1.1 ${response.status} ${response.statusText || "Refused"}`];
  response.headers.forEach((v, k) => {
    head.push(`${k}: ${v}`);
  });
  head.push(`content-length: ${Buffer.byteLength(body)}`, "connection: close");
  socket.end(`${head.join("\r\n")}\r\n\r\n${body}`);
}

/**
 * A broadcast sends one string to every member in a row: encode it to UTF-8 once, not once per
 * socket (the conversion dominated the cost of a 1 KB fan-out).
 */
let lastText = "";
let lastBytes: Buffer = Buffer.alloc(0);
function encodeOnce(text: string): Buffer {
  if (text !== lastText) {
    lastText = text;
    lastBytes = Buffer.from(text, "utf8");
  }
  return lastBytes;
}

export function attachNodeWebSockets<C, H>(server: Server, gateway: RoomGateway<C, H>): { close(): void } {
  const wss = new WebSocketServer({ noServer: true, maxPayload: gateway.maxFrameBytes });
  const onUpgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => socket.destroy());
    const url = new URL(req.url ?? "/", `http://${req.headers.host ?? "localhost"}`);
    const roomId = gateway.match(url.pathname);
    const correlationId = correlationIdOf({
      get: (name) => {
        const v = req.headers[name];
        return typeof v === "string" ? v : null;
      },
    });
    if (!roomId) {
      await writeResponse(
        socket,
        hostProblem("ROUTE_NOT_FOUND", `no WebSocket endpoint at ${url.pathname}`, correlationId),
      );
      return;
    }
    const auth = await gateway.authorize(url.toString(), roomId, correlationId);
    if (!auth.ok) {
      await writeResponse(socket, auth.response);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      const id = crypto.randomUUID();
      const opened = gateway.open(
        roomId,
        {
          id,
          send: (data) => ws.send(encodeOnce(data), { binary: false }),
          // A timed-out peer may never answer a close handshake: terminate after a short grace.
          close: (code, reason) => {
            ws.close(code, reason);
            setTimeout(() => ws.terminate(), 1000).unref();
          },
        },
        auth.claims,
      );
      let chain: Promise<unknown> = opened;
      ws.on("message", (data, isBinary) => {
        const frame = isBinary
          ? Array.isArray(data)
            ? Buffer.concat(data)
            : (data as Buffer)
          : Array.isArray(data)
            ? Buffer.concat(data).toString("utf8")
            : data.toString("utf8");
        // In order per connection, after open has finished.
        chain = chain.then(async () => gateway.message(await opened, frame)).catch(() => {});
      });
      ws.on("close", () => {
        chain = chain.then(async () => gateway.close(await opened)).catch(() => {});
      });
      ws.on("error", () => {});
    });
  };
  const listener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void onUpgrade(req, socket, head);
  server.on("upgrade", listener);
  return {
    close() {
      server.off("upgrade", listener);
      for (const c of wss.clients) c.terminate();
      wss.close();
    },
  };
}
