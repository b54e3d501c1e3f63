/**
 * The edge host end to end: the real Worker (wrangler.toml, workers/edge.ts) runs in workerd via
 * `wrangler dev`, reaching the local PostgreSQL through the Neon WebSocket bridge and the local
 * Redis through the Upstash REST bridge — the same drivers and wire protocols as in production.
 * The Cron Trigger's scheduled() handler is fired through wrangler dev's /cdn-cgi/handler/scheduled.
 * A second Worker, started without DATABASE_URL, proves a broken environment answers 500
 * problem+json BAD_ENVIRONMENT instead of crashing.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NeonBridge, startNeonBridge } from "../support/neon-bridge";
import { createScratchDatabase, type ScratchDatabase } from "../support/scratch-db";
import { startUpstashBridge, type UpstashBridge } from "../support/upstash-bridge";
import { startWranglerDev, type WranglerDev } from "./wrangler";

const JWT_SECRET = "edge-e2e-secret-edge-e2e-secret-0123456789";

let neon: NeonBridge;
let upstash: UpstashBridge;
let database: ScratchDatabase;
let edge: WranglerDev;
let broken: WranglerDev;

beforeAll(async () => {
  [neon, upstash, database] = await Promise.all([
    startNeonBridge(),
    startUpstashBridge(),
    createScratchDatabase({ migrated: true }),
  ]);
  const vars = {
    DATABASE_URL: database.url,
    NEON_WS_PROXY: neon.wsProxy,
    UPSTASH_REDIS_REST_URL: upstash.url,
    UPSTASH_REDIS_REST_TOKEN: upstash.token,
    JWT_SECRET,
  };
  const { DATABASE_URL: _omitted, ...withoutDb } = vars;
  // Started together: each boot takes a few seconds of bundling and workerd start-up.
  const [good, bad] = await Promise.allSettled([startWranglerDev(vars), startWranglerDev(withoutDb)]);
  if (good.status === "fulfilled") edge = good.value;
  if (bad.status === "fulfilled") broken = bad.value;
  if (good.status === "rejected") throw good.reason;
  if (bad.status === "rejected") throw bad.reason;
});

afterAll(async () => {
  await Promise.allSettled([edge?.stop(), broken?.stop()]);
  await Promise.allSettled([neon?.stop(), upstash?.stop(), database?.drop()]);
});

describe("edge Worker under wrangler dev", () => {
  it("is ready: database through the Neon bridge and kv through the Upstash bridge", async () => {
    const neonBefore = neon.totalConnections();
    const httpBefore = neon.httpQueries();
    const upstashBefore = upstash.requests();
    const res = await fetch(`${edge.url}/health/ready`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      status: "ready",
      checks: { database: { status: "ok" }, kv: { status: "ok" } },
    });
    // The readiness ping is one statement: over Neon's HTTP endpoint, no WebSocket opened (issue 19 E3).
    expect(neon.httpQueries()).toBeGreaterThan(httpBefore);
    expect(neon.totalConnections()).toBe(neonBefore);
    expect(upstash.requests()).toBeGreaterThan(upstashBefore);
    // The readiness ping is charged to the request even though the Pool connects inside it.
    expect(res.headers.get("server-timing")).toMatch(/db;dur=\d+;desc="1 queries"/);
    expect(await (await fetch(`${edge.url}/health`)).json()).toMatchObject({
      status: "ok",
      runtime: "workerd",
    });
  });

  it("answers an unknown /api/v1 route with 404 problem+json carrying the correlation id", async () => {
    const res = await fetch(`${edge.url}/api/v1/no-such-route`, {
      headers: { "x-correlation-id": "edge-e2e.404" },
    });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(res.headers.get("x-correlation-id")).toBe("edge-e2e.404");
    expect(await res.json()).toMatchObject({
      status: 404,
      code: "ROUTE_NOT_FOUND",
      correlationId: "edge-e2e.404",
    });

    const generated = await fetch(`${edge.url}/api/v1/no-such-route`);
    const body = await generated.json();
    expect(body.correlationId).toMatch(/^[A-Za-z0-9._-]{1,128}$/);
    expect(generated.headers.get("x-correlation-id")).toBe(body.correlationId);
  });

  it("logs one JSON access line per request with the correlation id", async () => {
    await fetch(`${edge.url}/health`, { headers: { "x-correlation-id": "edge-e2e.log" } });
    const linesOf = () =>
      edge
        .output()
        .split("\n")
        .filter((l) => l.includes('"correlationId":"edge-e2e.log"'))
        .map((l) => JSON.parse(l.slice(l.indexOf("{"))));
    // workerd's stdout reaches us through wrangler's pipe a moment after the response.
    let lines = linesOf();
    for (let i = 0; i < 50 && lines.length < 1; i++) {
      await sleep(100);
      lines = linesOf();
    }
    await sleep(200);
    lines = linesOf();
    expect(lines.map((l) => l.event)).toEqual(["access"]);
    expect(lines[0]).toMatchObject({ method: "GET", path: "/health", status: 200 });
  });

  it("registers and logs in through the edge (argon2id in workerd, Neon writes, JWT)", async () => {
    const email = `edge-${randomUUID()}@example.com`;
    const password = "Edge-e2e correct horse 42!";
    const json = { "content-type": "application/json" };
    const reg = await fetch(`${edge.url}/api/v1/auth/register`, {
      method: "POST",
      headers: json,
      body: JSON.stringify({ email, password, name: "Edge Tester" }),
    });
    expect(reg.status, await reg.clone().text()).toBe(201);
    expect(await reg.json()).toMatchObject({ email, name: "Edge Tester" });

    const login = await fetch(`${edge.url}/api/v1/auth/login`, {
      method: "POST",
      headers: json,
      body: JSON.stringify({ email, password }),
    });
    expect(login.status, await login.clone().text()).toBe(200);
    const tokens = await login.json();
    expect(tokens).toMatchObject({ accessToken: expect.any(String), refreshToken: expect.any(String) });

    // An authenticated read opens no database connection: its statements are Neon HTTP fetches.
    const [wsBefore, httpBefore] = [neon.totalConnections(), neon.httpQueries()];
    const me = await fetch(`${edge.url}/api/v1/me`, {
      headers: { authorization: `Bearer ${tokens.accessToken}` },
    });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ email });
    expect(neon.httpQueries()).toBeGreaterThan(httpBefore);
    expect(neon.totalConnections()).toBe(wsBefore);

    const wrong = await fetch(`${edge.url}/api/v1/auth/login`, {
      method: "POST",
      headers: json,
      body: JSON.stringify({ email, password: "not the password" }),
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("content-type")).toBe("application/problem+json");
  });

  it("purges expired sync tombstones from its Cron Trigger", async () => {
    const db = new pg.Client({ connectionString: database.url });
    await db.connect();
    try {
      const {
        rows: [building],
      } = await db.query<{ id: string }>(
        `insert into buildings (name, address_line, city, country, sync_version)
         values ('Cron', '1 Edge St', 'Haifa', 'IL', 2) returning id`,
      );
      const {
        rows: [, kept],
      } = await db.query<{ id: string }>(
        `insert into apartments (building_id, number, sync_version, deleted_at)
         values ($1, '1', 1, now() - interval '40 days'), ($1, '2', 2, now()) returning id`,
        [building!.id],
      );
      // wrangler dev's trigger for the scheduled() handler, as the Cron Trigger in wrangler.toml fires it.
      const res = await fetch(
        `${edge.url}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent("17 * * * *")}`,
      );
      expect(res.status, await res.clone().text()).toBe(200);
      const floor = async () =>
        (
          await db.query<{ floor: string }>(
            "select floor_version as floor from sync_tombstone_floors where building_id = $1",
            [building!.id],
          )
        ).rows[0]?.floor;
      for (let i = 0; i < 100 && (await floor()) === undefined; i++) await sleep(100);
      expect(await floor()).toBe("1");
      const left = await db.query<{ id: string }>("select id from apartments where building_id = $1", [
        building!.id,
      ]);
      expect(left.rows.map((r) => r.id)).toEqual([kept!.id]);
      // The job's summary line, from the cron invocation's logger.
      let summary: Record<string, unknown> | undefined;
      for (let i = 0; i < 50 && !summary; i++) {
        summary = edge
          .output()
          .split("\n")
          .filter((l) => l.includes('"event":"tombstones_purged"'))
          .map((l) => JSON.parse(l.slice(l.indexOf("{"))))
          .find((l) => l.cron === "17 * * * *");
        if (!summary) await sleep(100);
      }
      expect(summary).toMatchObject({ buildings: 1, purged: 1, failed: 0 });
    } finally {
      await db.end();
    }
  });

  it("answers 500 problem+json BAD_ENVIRONMENT naming a missing variable, without secrets", async () => {
    const res = await fetch(`${broken.url}/api/v1/anything`, {
      headers: { "x-correlation-id": "edge-e2e.env" },
    });
    expect(res.status).toBe(500);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const text = await res.text();
    expect(JSON.parse(text)).toMatchObject({
      status: 500,
      code: "BAD_ENVIRONMENT",
      correlationId: "edge-e2e.env",
      variables: ["DATABASE_URL"],
    });
    expect(text).not.toContain(upstash.token);
    expect(text).not.toContain(JWT_SECRET);
    // Every route, health included, refuses to serve with a broken environment.
    expect((await fetch(`${broken.url}/health/ready`)).status).toBe(500);
  });
});
