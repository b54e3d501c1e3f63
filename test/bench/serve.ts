/**
 * Serves a fetch handler for a bench target on a free loopback port, under Bun (Bun.serve) or
 * Node (@hono/node-server), and prints `READY <port>` for the harness. A new bench target is a
 * file that builds its handler and calls `serveFetch(handler)`.
 */
import { serve } from "@hono/node-server";

/** A fetch handler; `env` carries the client address as the standalone host passes it. */
export type FetchHandler = (request: Request, env?: any) => Response | Promise<Response>;

interface BunServer {
  port: number;
  requestIP(request: Request): { address: string } | null;
}
interface BunGlobal {
  serve(options: {
    port: number;
    hostname: string;
    fetch: (request: Request, server: BunServer) => Response | Promise<Response>;
  }): BunServer;
}

export const bun = (globalThis as { Bun?: BunGlobal }).Bun;

export function announce(port: number): void {
  process.stdout.write(`READY ${port}\n`);
}

/** `withClientIp` passes the client address to the handler as the standalone host does. */
export function serveFetch(fetch: FetchHandler, options: { withClientIp?: boolean } = {}): void {
  if (bun) {
    const server = bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: options.withClientIp
        ? (req, srv) => fetch(req, { clientIp: srv.requestIP(req)?.address })
        : (fetch as (req: Request) => Response | Promise<Response>),
    });
    announce(server.port);
    return;
  }
  // @hono/node-server passes { incoming, outgoing } as env, which is where the app reads the address.
  serve({ fetch: fetch as never, port: 0, hostname: "127.0.0.1" }, (info) => announce(info.port));
}
