/**
 * Local stand-in for Neon's WebSocket proxy: a `ws` server that pipes every WebSocket connection
 * to the local PostgreSQL over TCP, binary frames both ways. The Neon serverless driver runs
 * unchanged through it with `wsProxy: "127.0.0.1:<port>/v1"` (plain ws://, no pipelined TLS or
 * startup, a password in the URL). The driver's `?address=host:port` is ignored on purpose: every
 * connection goes to `target`, so a test cannot reach anything else through the bridge.
 */
import { type AddressInfo, connect, type Socket } from "node:net";
import { type WebSocket, WebSocketServer } from "ws";

export interface NeonBridge {
  port: number;
  /** The value for `wsProxy` / NEON_WS_PROXY. */
  wsProxy: string;
  /** Connections currently piped (for leak checks). */
  openConnections(): number;
  /** Connections accepted since start (to prove a client really went through the bridge). */
  totalConnections(): number;
  stop(): Promise<void>;
}

export async function startNeonBridge(
  options: { host?: string; targetHost?: string; targetPort?: number } = {},
): Promise<NeonBridge> {
  const host = options.host ?? "127.0.0.1";
  const targetHost = options.targetHost ?? "127.0.0.1";
  const targetPort = options.targetPort ?? 5432;
  const pairs = new Set<{ ws: WebSocket; tcp: Socket }>();
  let accepted = 0;

  const wss = new WebSocketServer({ host, port: 0, perMessageDeflate: false });
  wss.on("connection", (ws) => {
    accepted++;
    const tcp = connect({ host: targetHost, port: targetPort });
    tcp.setNoDelay(true);
    const pair = { ws, tcp };
    pairs.add(pair);
    // Frames that arrive before the TCP connection is up are buffered by the socket itself.
    ws.on("message", (data, isBinary) => {
      const chunk = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      tcp.write(isBinary ? chunk : chunk.toString());
    });
    tcp.on("data", (chunk) => {
      if (ws.readyState === ws.OPEN) ws.send(chunk, { binary: true });
    });
    const end = () => {
      pairs.delete(pair);
      tcp.destroy();
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close();
    };
    ws.on("close", end);
    ws.on("error", end);
    tcp.on("close", end);
    tcp.on("error", end);
  });

  await new Promise<void>((resolve, reject) => {
    wss.once("listening", resolve);
    wss.once("error", reject);
  });
  const port = (wss.address() as AddressInfo).port;

  return {
    port,
    wsProxy: `${host}:${port}/v1`,
    openConnections: () => pairs.size,
    totalConnections: () => accepted,
    async stop() {
      for (const { ws, tcp } of pairs) {
        tcp.destroy();
        ws.terminate();
      }
      pairs.clear();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
