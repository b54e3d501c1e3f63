/**
 * The SDK against the real app in-process: createHorizonClient's `fetch` hands each request to
 * app.request (same code path as a host, no socket), through a "network" the test controls
 * (offline, drop the connection, answer 503 first, rewrite a header) and records.
 */
import { memberships } from "../../../src/db/schema";
import type { TestApp } from "../../support/app";

export interface Net {
  fetch: typeof fetch;
  /** Every request that reached the server: method, path, headers. */
  seen: Array<{ method: string; path: string; headers: Headers; status: number }>;
  offline: boolean;
  /** Next matching requests fail as the test says. */
  faults: Array<{ match: (req: Request) => boolean; fault: "drop" | "drop-after-send" | Response }>;
  rewrite?: (req: Request) => Request;
}

export function network(t: TestApp): Net {
  const net: Net = {
    seen: [],
    offline: false,
    faults: [],
    fetch: (async (input: RequestInfo | URL, init?: RequestInit) => {
      let req = new Request(input, init);
      if (net.offline) throw new TypeError("fetch failed: offline");
      if (net.rewrite) req = net.rewrite(req);
      const i = net.faults.findIndex((f) => f.match(req));
      const fault = i >= 0 ? net.faults.splice(i, 1)[0]!.fault : null;
      if (fault === "drop") throw new TypeError("fetch failed: connection reset");
      if (fault instanceof Response) {
        net.seen.push({
          method: req.method,
          path: new URL(req.url).pathname,
          headers: req.headers,
          status: fault.status,
        });
        return fault;
      }
      const res = await t.app.request(req, undefined, { clientIp: "203.0.113.9" });
      net.seen.push({
        method: req.method,
        path: new URL(req.url).pathname,
        headers: req.headers,
        status: res.status,
      });
      // The server did the work; the answer never arrives.
      if (fault === "drop-after-send") throw new TypeError("fetch failed: connection reset after send");
      return res;
    }) as typeof fetch,
  };
  return net;
}

export const ORIGIN = "http://horizon.test";

export async function join(t: TestApp, buildingId: string, userId: string, role: "manager" | "resident") {
  await t.services.database.db.insert(memberships).values({ buildingId, userId, role });
}

export function failingStorage<S extends { setItem(k: string, v: string): Promise<void> }>(inner: S) {
  let failing = false;
  const wrapped = Object.create(inner) as S & { fail(on: boolean): void };
  wrapped.setItem = async (k: string, v: string) => {
    if (failing) throw new Error("QuotaExceededError: storage is full");
    return inner.setItem(k, v);
  };
  wrapped.fail = (on: boolean) => {
    failing = on;
  };
  return wrapped;
}
