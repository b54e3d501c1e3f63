/**
 * A TCP proxy in front of PostgreSQL that counts a client's flights: a flight is what the client
 * sends before it hears back, so a client that waits for every answer sends one flight per
 * statement, and one that pipelines sends several statements in one. The server's answers are held
 * for `holdMs` before they are passed on, so a statement the client sends without waiting surely
 * reaches the proxy before the answer it did not wait for.
 */
import { connect, createServer, type Server, type Socket } from "node:net";

export interface FlightProxy {
  /** The proxy's URL for a PostgreSQL URL's database (same user and password). */
  url(target: string): string;
  /** Client flights so far, over all connections. */
  flights(): number;
  close(): Promise<void>;
}

export async function startFlightProxy(options: { holdMs: number }): Promise<FlightProxy> {
  let flights = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(5432, "127.0.0.1");
    sockets.add(client).add(upstream);
    // Whether the client has heard from the server since its last send.
    let answered = true;
    client.on("data", (chunk) => {
      if (answered) flights++;
      answered = false;
      upstream.write(chunk);
    });
    upstream.on("data", (chunk) => {
      setTimeout(() => {
        answered = true;
        if (!client.destroyed) client.write(chunk);
      }, options.holdMs);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("close", end).on("error", end);
    upstream.on("close", () => setTimeout(end, options.holdMs)).on("error", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url(target) {
      const u = new URL(target);
      u.host = `127.0.0.1:${port}`;
      return u.toString();
    },
    flights: () => flights,
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
