/**
 * API-layer figures, in process (app.fetch, no sockets: the middleware's own cost shows fully,
 * so the ratios are conservative compared with over-the-wire runs):
 *   - rate-limited route / same route without the limiter (memory and local Redis; budget ≥ 0.70),
 *   - cached read / uncached read (cache.remember over memory kv vs a PGlite query),
 *   - compression cost in µs per KB (gzip level 6, brotli quality 4).
 * `npx tsx test/bench/api-layer.bench.ts`, or call `benchApiLayer()` from test/bench/run.ts.
 */
import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import { Redis } from "ioredis";
import { createApp } from "../../src/app";
import { parseConfig } from "../../src/config";
import { compress } from "../../src/http/compression";
import { queryRows } from "../../src/platform/db";
import { createPgliteDatabase } from "../../src/platform/db/pglite";
import { createMemoryKv } from "../../src/platform/kv/memory";
import { createJsonLogger } from "../../src/platform/log/json";
import type { RateLimiter } from "../../src/platform/ratelimit";
import { createFlexibleRateLimiter } from "../../src/platform/ratelimit/flexible";
import { assembleNodeServices } from "../../workers/node-services";

export interface ApiLayerFigure {
  name: string;
  value: number;
  unit: string;
  min?: number;
  ok?: boolean | null;
}

async function rps(fetch: () => Promise<Response>, ms: number, concurrency = 8): Promise<number> {
  const end = performance.now() + ms;
  let done = 0;
  const worker = async () => {
    while (performance.now() < end) {
      const res = await fetch();
      if (res.status !== 200) throw new Error(`bench request answered ${res.status}`);
      await res.arrayBuffer();
      done++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return done / ((performance.now() - started) / 1000);
}

/** Median of alternating rounds, so machine noise drifts over both sides alike. */
async function compare(a: () => Promise<Response>, b: () => Promise<Response>, ms: number, rounds = 5) {
  const ra: number[] = [];
  const rb: number[] = [];
  await rps(a, 300);
  await rps(b, 300);
  for (let i = 0; i < rounds; i++) {
    ra.push(await rps(a, ms));
    rb.push(await rps(b, ms));
  }
  const median = (xs: number[]) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  return { a: median(ra), b: median(rb) };
}

export async function benchApiLayer(options: { roundMs?: number; redisUrl?: string } = {}) {
  const roundMs = options.roundMs ?? 1500;
  const database = await createPgliteDatabase();
  const kv = createMemoryKv();
  const logger = createJsonLogger({ level: "silent" });
  const build = (env: Record<string, string>, rateLimiter?: RateLimiter) => {
    const config = parseConfig({
      NODE_ENV: "production",
      LOG_LEVEL: "silent",
      JWT_SECRET: "b".repeat(40),
      ...env,
    });
    const services = assembleNodeServices({
      config,
      database,
      kv,
      logger,
      runtime: "node",
      ...(rateLimiter ? { rateLimiter } : {}),
    });
    const app = createApp(services);
    const payload = { id: "b-1", name: "Building 1", address: { city: "Lyon", street: "1 rue X" } };
    app.get("/api/v1/bench/item", (c) => c.json(payload));
    const query = () =>
      queryRows(database.db, sql`select g as id, md5(g::text) as name from generate_series(1, 50) g`);
    app.get("/api/v1/bench/uncached", async (c) => c.json({ data: await query() }));
    app.get("/api/v1/bench/cached", async (c) =>
      c.json({ data: await services.cache.remember("bench:list", 60_000, query) }),
    );
    return (path: string) => async () =>
      app.fetch(new Request(`http://bench${path}`), { clientIp: "198.51.100.1" });
  };
  const generous = { RATE_LIMIT_READ: "999999999/3600s" };
  const figures: ApiLayerFigure[] = [];
  const off = build({ RATE_LIMIT_ENABLED: "false" })("/api/v1/bench/item");

  const memory = build(generous)("/api/v1/bench/item");
  let r = await compare(memory, off, roundMs);
  figures.push({ name: "rate-limited (memory) / unlimited", value: r.a / r.b, unit: "ratio", min: 0.7 });
  figures.push({ name: "unlimited read", value: r.b, unit: "req/s" });

  const client = new Redis(options.redisUrl ?? process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379");
  await client.ping();
  const redisLimiter = createFlexibleRateLimiter({ store: "redis", client, prefix: `bench-${process.pid}` });
  const viaRedis = build(generous, redisLimiter)("/api/v1/bench/item");
  r = await compare(viaRedis, off, roundMs);
  figures.push({ name: "rate-limited (local Redis) / unlimited", value: r.a / r.b, unit: "ratio", min: 0.7 });
  // The static route above makes the limiter's one Redis round trip the whole cost; a route that
  // reads the database (a 50-row SELECT on PGlite) shows what it costs a typical read.
  const offDb = build({ RATE_LIMIT_ENABLED: "false" })("/api/v1/bench/uncached");
  r = await compare(build(generous, redisLimiter)("/api/v1/bench/uncached"), offDb, roundMs);
  figures.push({
    name: "rate-limited (local Redis) / unlimited, db read",
    value: r.a / r.b,
    unit: "ratio",
    min: 0.7,
  });
  client.disconnect();

  const app = build({ RATE_LIMIT_ENABLED: "false" });
  r = await compare(app("/api/v1/bench/cached"), app("/api/v1/bench/uncached"), roundMs);
  figures.push({ name: "cached read / uncached read (PGlite)", value: r.a / r.b, unit: "ratio" });

  for (const kb of [4, 64]) {
    const body = new TextEncoder().encode(
      JSON.stringify(
        Array.from({ length: kb * 12 }, (_, i) => ({ id: `id-${i}`, name: `Resident ${i}`, n: i })),
      ).slice(0, kb * 1024),
    );
    for (const coding of ["gzip", "br"] as const) {
      const runs = 200;
      const t0 = performance.now();
      let out = 0;
      for (let i = 0; i < runs; i++) out = (await compress(body, coding)).byteLength;
      const us = ((performance.now() - t0) * 1000) / runs / kb;
      figures.push({
        name: `${coding} ${kb} KB JSON (→ ${Math.round((out / body.byteLength) * 100)}%)`,
        value: us,
        unit: "µs/KB",
      });
    }
  }
  await database.close();
  await kv.close();
  for (const f of figures) if (f.min !== undefined) f.ok = f.value >= f.min;
  return figures;
}

export function printFigures(figures: ApiLayerFigure[]) {
  for (const f of figures) {
    const v = f.unit === "ratio" ? f.value.toFixed(2) : f.value.toFixed(f.value < 100 ? 1 : 0);
    const budget = f.min === undefined ? "" : `  (≥ ${f.min}: ${f.ok ? "ok" : "MISSED"})`;
    console.log(`${f.name.padEnd(48)} ${v.padStart(10)} ${f.unit}${budget}`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const figures = await benchApiLayer();
  printFigures(figures);
  process.exit(process.env.BENCH_STRICT === "1" && figures.some((f) => f.ok === false) ? 1 : 0);
}
