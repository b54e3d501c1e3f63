/**
 * Kv down (issue 14 defect 7): the real app, built as the standalone host builds it with REDIS_URL
 * (selectKv + selectRateLimiter), pointing at a closed port and at a server that accepts TCP and
 * never answers. Routes that need kv (version usage, presence) answer 503 DEPENDENCY_UNAVAILABLE
 * with Retry-After; cached reads fall back to the database; sign-in fails closed (its limiter is
 * down) with 503, other requests pass without limits. "Fast" is checked without timings: once the
 * breaker is open a whole round of requests reaches the kv server not once and finishes before the
 * breaker's 30 s are over. A last suite brings Redis back and checks that a write made during the
 * outage is not hidden by the entry cached before it.
 */
import { createServer, type Server, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../../src/app";
import { type BreakerState, DependencyUnavailableError } from "../../../src/platform/breaker";
import type { Kv } from "../../../src/platform/kv";
import type { GuardedKv } from "../../../src/platform/kv/guard";
import { createRedisKv } from "../../../src/platform/kv/redis";
import { createJsonLogger } from "../../../src/platform/log/json";
import type { RateLimiter } from "../../../src/platform/ratelimit";
import { selectRateLimiter } from "../../../src/platform/ratelimit/select";
import { selectKv } from "../../../src/platform/select";
import type { Services } from "../../../src/services";
import { assembleNodeServices } from "../../../workers/node-services";
import { testConfig } from "../../support/app";
import { createTestDatabase } from "../../support/db";
import { REDIS_URL } from "../../support/env";
import { createBuilding, json } from "../../support/fixtures";
import { freePort } from "../../support/net";

/** A TCP server that accepts connections and swallows every byte: a Redis that hangs. */
async function startSilentServer() {
  let bytes = 0;
  let connections = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on("data", (d) => {
      bytes += d.length;
    });
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  return {
    url: `redis://127.0.0.1:${port}`,
    /** Bytes and connections seen: any kv attempt shows up here. */
    seen: () => ({ bytes, connections }),
    stop: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

async function buildHost(redisUrl: string) {
  const config = testConfig({ REDIS_URL: redisUrl });
  const lines: Array<Record<string, unknown>> = [];
  const logger = createJsonLogger({ level: "info", sink: (l) => lines.push(JSON.parse(l)) });
  const database = await createTestDatabase("pglite");
  const kv = (await selectKv(config, logger)) as GuardedKv;
  const rateLimiter: RateLimiter = await selectRateLimiter(config);
  const services: Services = assembleNodeServices({
    config,
    database,
    kv,
    logger,
    rateLimiter,
    runtime: "node",
  });
  const app = createApp(services);
  return {
    services,
    kv,
    lines,
    request: (path: string, init?: RequestInit) => app.request(path, init, { clientIp: "203.0.113.9" }),
    async close() {
      await Promise.allSettled([database.close(), kv.close(), rateLimiter.close()]);
    },
  };
}

type Host = Awaited<ReturnType<typeof buildHost>>;

async function expectUnavailable(res: Response, dependency = "kv") {
  expect(res.status).toBe(503);
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  const retryAfter = Number(res.headers.get("retry-after"));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(30);
  const body = await res.json();
  expect(body).toMatchObject({ status: 503, code: "DEPENDENCY_UNAVAILABLE" });
  expect(body.correlationId).toBe(res.headers.get("x-correlation-id"));
  if (dependency) expect(body.detail).toContain(dependency);
}

/** One round of the requests a client makes; statuses and codes are checked on each. */
async function round(h: Host, b: Awaited<ReturnType<typeof createBuilding>>, email: string) {
  const versions = await h.request("/api/v1/meta/versions");
  await expectUnavailable(versions);

  const presence = await h.request(`/api/v1/buildings/${b.id}/presence`, { headers: b.resident.auth });
  await expectUnavailable(presence);

  const building = await h.request(`/api/v1/buildings/${b.id}`, { headers: b.resident.auth });
  expect(building.status).toBe(200);
  expect((await building.json()).id).toBe(b.id);
  const apartments = await h.request(`/api/v1/buildings/${b.id}/apartments`, { headers: b.manager.auth });
  expect(apartments.status).toBe(200);
  expect((await apartments.json()).data).toHaveLength(3);
  const me = await h.request("/api/v1/me", { headers: b.neighbour.auth });
  expect(me.status).toBe(200);
  expect((await me.json()).id).toBe(b.neighbour.id);

  // Sign-in's limiter shares the dead Redis: it fails closed, at once, with Retry-After.
  const login = await h.request("/api/v1/auth/login", json({ email, password: "whatever-it-is-42!" }));
  await expectUnavailable(login, "");
}

const MODES = [
  {
    name: "closed port",
    start: async () => ({
      url: `redis://127.0.0.1:${await freePort()}`,
      seen: undefined,
      stop: async () => {},
    }),
  },
  { name: "server that never answers", start: startSilentServer },
] as const;

describe.each(MODES)("kv down ($name): the app answers, fast", (mode) => {
  let h: Host;
  let server: Awaited<ReturnType<(typeof MODES)[number]["start"]>>;
  beforeAll(async () => {
    server = await mode.start();
    h = await buildHost(server.url);
  });
  afterAll(async () => {
    await h?.close();
    await server?.stop();
  });

  it("answers 503 DEPENDENCY_UNAVAILABLE where kv is needed and serves the rest from the database", async () => {
    const b = await createBuilding(h.services);
    const email = b.manager.email;
    await round(h, b, email);
    // A round of requests was enough failures to open the breaker.
    expect(h.kv.breaker.state()).toBe("open");
    expect(h.lines.some((l) => l.event === "kv_breaker" && l.to === "open")).toBe(true);

    // Open: a second round reaches the kv server not once and ends inside the breaker's 30 s.
    const before = "seen" in server && server.seen ? server.seen() : undefined;
    await round(h, b, email);
    await round(h, b, email);
    expect(h.kv.breaker.state()).toBe("open");
    if (before && "seen" in server && server.seen) expect(server.seen()).toEqual(before);
    // The open breaker is logged once, not once per refused call.
    expect(h.lines.filter((l) => l.event === "kv_breaker" && l.to === "open")).toHaveLength(1);
    expect(h.lines.filter((l) => l.event === "cache_degraded").length).toBeLessThan(20);
    // No 500 on the way.
    expect(
      h.lines.filter((l) => l.event === "access" && Number(l.status) >= 500 && l.status !== 503),
    ).toEqual([]);
  });

  it("kv calls reject with DependencyUnavailableError, never hang", async () => {
    const err = await h.kv.get("any").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DependencyUnavailableError);
  });
});

/** A TCP proxy to the real Redis that can be cut and restored. */
async function startRedisProxy() {
  const target = new URL(REDIS_URL);
  let up = true;
  const sockets = new Set<Socket>();
  const { connect } = await import("node:net");
  const server = createServer((client) => {
    if (!up) return client.destroy();
    const upstream = connect(Number(target.port || 6379), target.hostname);
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  return {
    url: `redis://127.0.0.1:${port}`,
    cut() {
      up = false;
      for (const s of sockets) s.destroy();
    },
    restore() {
      up = true;
    },
    stop: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe("kv back after an outage", () => {
  let proxy: Awaited<ReturnType<typeof startRedisProxy>>;
  let kv: GuardedKv;
  let breakerNow = Date.now();
  let h: Awaited<ReturnType<typeof import("../../support/app").createTestApp>>;
  beforeAll(async () => {
    proxy = await startRedisProxy();
    kv = createRedisKv({
      url: proxy.url,
      prefix: `test:outage:${process.pid}:${Date.now().toString(36)}:`,
      breaker: { now: () => breakerNow },
    });
    await kv.ping();
    const { createTestApp } = await import("../../support/app");
    h = await createTestApp({ kv: kv as Kv, env: { RATE_LIMIT_ENABLED: "false" } });
  });
  afterAll(async () => {
    await h?.close();
    await kv?.close();
    await proxy?.stop();
  });

  it("a write made while kv was down is seen once it is back, not the entry cached before it", async () => {
    const b = await createBuilding(h.services);
    const path = `/api/v1/buildings/${b.id}`;
    const read = async () => (await h.request(path, { headers: b.resident.auth })).json();
    expect((await read()).city).toBe("Haifa"); // cached in Redis now

    proxy.cut();
    const patched = await h.request(path, {
      method: "PATCH",
      headers: { ...b.manager.auth, "content-type": "application/json" },
      body: JSON.stringify({ city: "Akko" }),
    });
    expect(patched.status).toBe(200); // the write does not need kv; its invalidation failed
    expect((await read()).city).toBe("Akko"); // from the database while kv is down
    const state: BreakerState = kv.breaker.state();
    expect(state).toBe("open");

    proxy.restore();
    // Half-open once ioredis has reconnected; each failed probe re-opens, so move the clock again.
    for (let i = 0; i < 100; i++) {
      breakerNow += 30_000;
      if (
        await kv.ping().then(
          () => true,
          () => false,
        )
      )
        break;
      await sleep(100);
    }
    expect((await read()).city).toBe("Akko");
    expect((await read()).city).toBe("Akko");
    expect(kv.breaker.state()).toBe("closed");
  });
});
