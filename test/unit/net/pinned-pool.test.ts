/**
 * Keep-alive connections of the pinned request (src/platform/net/pinned-fetch.ts): a connection is
 * reused only by a later request whose check — DNS included, run again on every request — came to
 * the same address. Only loopback is ever contacted (127.0.0.1 and 127.0.0.2, both `lo`).
 */
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  createPinnedAgentPool,
  type PinnedAgentPool,
  pinnedRequest,
} from "../../../src/platform/net/pinned-fetch";
import type { OutboundPolicy } from "../../../src/platform/net/ssrf";
import { selfSignedCert } from "../../support/tls-cert";
import { waitFor } from "../../support/wait";

interface Listener {
  server: http.Server | https.Server;
  port: number;
  /** TCP connections accepted. */
  connections: number;
  /** TCP connections that have closed. */
  closed: number;
  /** `path` of each request, in order. */
  requests: string[];
}

function listen(server: http.Server | https.Server, host: string, port = 0): Promise<Listener> {
  const l: Listener = { server, port: 0, connections: 0, closed: 0, requests: [] };
  server.on("connection", (socket) => {
    l.connections++;
    socket.on("close", () => l.closed++);
  });
  server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    l.requests.push(req.url ?? "");
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(host);
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      l.port = (server.address() as AddressInfo).port;
      resolve(l);
    });
  });
}

const close = (l: Listener) =>
  new Promise<void>((r) => {
    l.server.closeAllConnections();
    l.server.close(() => r());
  });

describe("pinned keep-alive connections", () => {
  let pool: PinnedAgentPool;
  afterEach(() => pool?.destroy());

  describe("over http", () => {
    let a: Listener;
    let b: Listener;
    beforeAll(async () => {
      a = await listen(http.createServer(), "127.0.0.1");
      // The same port on another loopback address: what a name that moves would point at.
      b = await listen(http.createServer(), "127.0.0.2", a.port);
    });
    afterAll(async () => {
      await close(a);
      await close(b);
    });
    const policy = (): OutboundPolicy => ({ allowHosts: [`receiver.test:${a.port}`] });

    it("reuses one connection across requests whose check came to the same address, resolving again each time", async () => {
      pool = createPinnedAgentPool();
      const before = a.connections;
      const sent = a.requests.length;
      let lookups = 0;
      const resolve = async () => {
        lookups++;
        return ["127.0.0.1"];
      };
      for (let i = 0; i < 3; i++) {
        // The same URL each time, as a delivery's retries send it.
        const res = await pinnedRequest(`http://receiver.test:${a.port}/reuse`, {
          policy: policy(),
          resolve,
          body: "{}",
          pool,
        });
        expect(res).toMatchObject({ status: 200, address: "127.0.0.1", body: "127.0.0.1" });
      }
      expect(a.requests.slice(sent)).toEqual(["/reuse", "/reuse", "/reuse"]);
      expect(a.connections - before).toBe(1);
      // The check (DNS included) ran for every request, warm connection or not.
      expect(lookups).toBe(3);
      expect(pool.size).toBe(1);
    });

    it("a name that now resolves to another address gets a new connection to that address, not the warm one", async () => {
      pool = createPinnedAgentPool();
      const answers = [["127.0.0.1"], ["127.0.0.2"], ["127.0.0.1"]];
      const resolve = async () => answers.shift()!;
      const sentA = a.requests.length;
      const sentB = b.requests.length;
      const connectionsA = a.connections;
      const got = [];
      for (const _ of [1, 2, 3]) {
        const res = await pinnedRequest(`http://receiver.test:${a.port}/move`, {
          policy: policy(),
          resolve,
          body: "{}",
          pool,
        });
        got.push([res.address, res.body]);
      }
      expect(got).toEqual([
        ["127.0.0.1", "127.0.0.1"],
        ["127.0.0.2", "127.0.0.2"],
        ["127.0.0.1", "127.0.0.1"],
      ]);
      expect(a.requests.slice(sentA)).toEqual(["/move", "/move"]);
      expect(b.requests.slice(sentB)).toEqual(["/move"]);
      // Back on the first address: its warm connection again.
      expect(a.connections - connectionsA).toBe(1);
    });

    it("keeps at most maxAgents targets, dropping the least recently used one and its idle connection", async () => {
      // Idle connections stay a minute: only the eviction closes one within this test.
      pool = createPinnedAgentPool({ maxAgents: 2, idleMs: 60_000 });
      // The earlier tests' pools were destroyed: let their connections finish closing first.
      await waitFor("earlier connections closed", () => a.closed === a.connections);
      const connections = a.connections;
      const closed = a.closed;
      const hosts = ["one.test", "two.test", "three.test"];
      const req = (host: string) =>
        pinnedRequest(`http://${host}:${a.port}/lru`, {
          policy: { allowHosts: hosts.map((h) => `${h}:${a.port}`) },
          resolve: async () => ["127.0.0.1"],
          pool,
        });
      await req("one.test"); // connection 1
      await req("two.test"); // connection 2
      await req("one.test"); // reused; two.test is now the least recently used
      await req("three.test"); // connection 3; two.test's agent goes, its idle connection closed
      await waitFor("the evicted agent's idle connection closed", () => a.closed - closed === 1);
      await req("one.test"); // still warm
      expect(a.connections - connections).toBe(3);
      await req("two.test"); // connection 4
      expect(a.connections - connections).toBe(4);
      expect(pool.size).toBe(2);
    });
  });

  describe("over https", () => {
    const cert = selfSignedCert(["receiver.test"], ["127.0.0.1"]);
    let s: Listener;
    beforeAll(async () => {
      s = await listen(https.createServer({ key: cert.key, cert: cert.cert }), "127.0.0.1");
    });
    afterAll(() => close(s));

    it("a name that now resolves to loopback is refused on the next request, with its connection still warm", async () => {
      pool = createPinnedAgentPool();
      const resolve = async () => ["127.0.0.1"];
      const first = await pinnedRequest(`https://receiver.test:${s.port}/same`, {
        // Allowlisted while it was (say) a trusted peer: loopback is fine, the connection stays open.
        policy: { allowHosts: [`receiver.test:${s.port}`] },
        resolve,
        ca: cert.cert,
        body: "{}",
        pool,
      });
      expect(first.status).toBe(200);
      const sent = s.requests.length;
      const connections = s.connections;
      // The same name, no longer allowlisted: its (unchanged) loopback answer is refused before
      // the warm connection to that very address is touched.
      await expect(
        pinnedRequest(`https://receiver.test:${s.port}/same`, {
          policy: { allowHosts: [], ports: [s.port] },
          resolve,
          ca: cert.cert,
          body: "{}",
          pool,
        }),
      ).rejects.toMatchObject({ reason: "private_address" });
      expect(s.requests.length).toBe(sent);
      expect(s.connections).toBe(connections);
    });
  });
});
