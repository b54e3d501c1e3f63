/**
 * Edge figures in workerd, every Worker served by `wrangler dev` the same way, against the local
 * stand-ins (Neon bridge with WebSocket and HTTP, Upstash bridge, a scratch PostgreSQL database):
 *   E1  full Worker GET /health / bare Hono Worker GET /health (≥ 0.60), by the CPU of each
 *       wrangler + workerd process group per request (and req/s, printed); LOG_LEVEL=warn so the
 *       dev server's log forwarding is not counted;
 *   E2  one argon2id hash (m = 19 MiB, t = 2, p = 1) in workerd with the WASM module imported from
 *       the bundle: CPU per hashing request minus CPU per /health request on the same Worker
 *       (≤ 50 ms; wall-clock p50s in the note); pure-JS noble beside it;
 *   E3  p50 of one authenticated GET /api/v1/buildings/{id} on the Worker with NEON_HTTP (after)
 *       and on the WebSocket Pool (before), beside the same read in process on node-postgres, and
 *       the WebSocket connections the HTTP Worker opened for those reads (0 expected).
 *   npx tsx test/bench/edge.bench.ts     (or the "edge" section of npm run bench)
 */
import { fileURLToPath } from "node:url";
import { createApp } from "../../src/app";
import { parseConfig } from "../../src/config";
import { apartments, buildings, memberships, users } from "../../src/db/schema";
import { signAccessToken } from "../../src/modules/identity/tokens";
import { createPgDatabase } from "../../src/platform/db/pg";
import { createMemoryKv } from "../../src/platform/kv/memory";
import { createJsonLogger } from "../../src/platform/log/json";
import { assembleNodeServices } from "../../workers/node-services";
import { startWranglerDev, type WranglerDev } from "../e2e/wrangler";
import { startNeonBridge } from "../support/neon-bridge";
import { createScratchDatabase } from "../support/scratch-db";
import { startUpstashBridge } from "../support/upstash-bridge";
import type { Figure } from "./figures";
import { groupCpuSeconds, measureSample, median } from "./harness";
import { BENCH_BUILDING_ID, BENCH_JWT_SECRET, BENCH_MANAGER_ID } from "./targets/bench-tenant";

const MIGRATIONS = fileURLToPath(new URL("../../drizzle", import.meta.url));
const BARE_CONFIG = fileURLToPath(new URL("./workers/wrangler.toml", import.meta.url));

async function latencies(url: string, n: number, headers: Record<string, string> = {}): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await fetch(url, { headers });
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`${url} answered ${res.status}`);
    out.push(performance.now() - t0);
  }
  return out;
}

const p50 = (xs: number[]) => median(xs);
const spread = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `p10 ${s[Math.floor(s.length * 0.1)]!.toFixed(1)} / p90 ${s[Math.floor(s.length * 0.9)]!.toFixed(1)} ms`;
};

export async function benchEdge(): Promise<Figure[]> {
  const [neon, upstash, scratch] = await Promise.all([
    startNeonBridge(),
    startUpstashBridge(),
    createScratchDatabase({ migrated: false }),
  ]);
  const pgDb = createPgDatabase({ url: scratch.url });
  const workers: WranglerDev[] = [];
  try {
    await pgDb.migrate(MIGRATIONS);
    await pgDb.db
      .insert(users)
      .values({ id: BENCH_MANAGER_ID, email: "bench@horizon.local", name: "Bench", passwordHash: "!" });
    await pgDb.db.insert(buildings).values({
      id: BENCH_BUILDING_ID,
      name: "Bench Tower",
      addressLine: "1 Bench St",
      city: "Haifa",
      country: "IL",
    });
    await pgDb.db.insert(apartments).values({ buildingId: BENCH_BUILDING_ID, number: "100", floor: 1 });
    await pgDb.db
      .insert(memberships)
      .values({ buildingId: BENCH_BUILDING_ID, userId: BENCH_MANAGER_ID, role: "manager" });

    const vars = (http: boolean) => ({
      DATABASE_URL: scratch.url,
      NEON_WS_PROXY: neon.wsProxy,
      NEON_HTTP: String(http),
      UPSTASH_REDIS_REST_URL: upstash.url,
      UPSTASH_REDIS_REST_TOKEN: upstash.token,
      JWT_SECRET: BENCH_JWT_SECRET,
      LOG_LEVEL: "warn",
      RATE_LIMIT_READ: "100000000/60s",
    });
    const [full, pool, bare] = await Promise.all([
      startWranglerDev(vars(true), { timeoutMs: 240_000 }),
      startWranglerDev(vars(false), { timeoutMs: 240_000 }),
      startWranglerDev({}, { timeoutMs: 240_000, config: BARE_CONFIG }),
    ]);
    workers.push(full, pool, bare);
    const figures: Figure[] = [];

    // E1: alternating rounds, the ratio of each round's CPU per request (harness.ts says why).
    const rounds: number[] = [];
    const rpsRounds: number[] = [];
    for (const w of [full, bare]) await measureSample(`${w.url}/health`, { seconds: 2, connections: 16 });
    for (let i = 0; i < 5; i++) {
      const f = await measureSample(`${full.url}/health`, { seconds: 2, connections: 16, pgid: full.pid });
      const b = await measureSample(`${bare.url}/health`, { seconds: 2, connections: 16, pgid: bare.pid });
      if (f.cpuUs !== null && b.cpuUs !== null) rounds.push(b.cpuUs / f.cpuUs);
      rpsRounds.push(f.rps / b.rps);
    }
    figures.push({
      id: "E1",
      name: "full Worker /health / bare Hono Worker (workerd)",
      value: rounds.length ? median(rounds) : median(rpsRounds),
      unit: "ratio",
      min: 0.6,
      note: `${rounds.length ? "by cpu" : "by req/s"}; rounds ${(rounds.length ? rounds : rpsRounds).map((x) => x.toFixed(2)).join("/")}; req/s ratio ${median(rpsRounds).toFixed(2)}`,
    });

    // E2: the hash alone is a hashing request's latency minus a plain one's, on the same Worker.
    await latencies(`${bare.url}/hash/wasm`, 2); // instantiates the module once per isolate
    await latencies(`${bare.url}/hash/noble`, 1);
    // CPU of the wrangler + workerd group per request, minus a /health request's: the hash's own
    // CPU, which other load on the machine does not stretch (wall-clock p50s are printed beside).
    const cpuPer = async (route: string, n: number) => {
      const c0 = groupCpuSeconds(bare.pid);
      const wall = await latencies(`${bare.url}${route}`, n);
      const c1 = groupCpuSeconds(bare.pid);
      return { cpuMs: c0 === null || c1 === null ? null : ((c1 - c0) * 1000) / n, wall };
    };
    const plain = await cpuPer("/health", 40);
    const wasm = await cpuPer("/hash/wasm", 20);
    const noble = await cpuPer("/hash/noble", 6);
    const hashMs = (h: { cpuMs: number | null; wall: number[] }) =>
      h.cpuMs !== null && plain.cpuMs !== null ? h.cpuMs - plain.cpuMs : p50(h.wall) - p50(plain.wall);
    figures.push({
      id: "E2",
      name: "argon2id in workerd, WASM imported from the bundle",
      value: hashMs(wasm),
      unit: "ms",
      max: 50,
      note: `CPU per hashing request minus per /health request (20 hashes); wall p50 ${p50(wasm.wall).toFixed(0)} ms, ${spread(wasm.wall)}`,
    });
    figures.push({
      name: "argon2id in workerd, pure-JS noble (before)",
      value: hashMs(noble),
      unit: "ms",
      note: `CPU, 6 hashes; wall p50 ${p50(noble.wall).toFixed(0)} ms`,
    });

    // E3: one authenticated read, sequential, interleaved between the two Workers.
    const token = await signAccessToken(
      { userId: BENCH_MANAGER_ID, isAdmin: false },
      BENCH_JWT_SECRET,
      new Date(),
      3600,
    );
    const auth = { authorization: `Bearer ${token}` };
    const path = `/api/v1/buildings/${BENCH_BUILDING_ID}`;
    await latencies(`${full.url}${path}`, 3, auth);
    await latencies(`${pool.url}${path}`, 3, auth);
    const wsBefore = neon.totalConnections();
    const httpBefore = neon.httpQueries();
    const viaHttp: number[] = [];
    const viaPool: number[] = [];
    const wsOfHttp: number[] = [];
    for (let i = 0; i < 10; i++) {
      const ws0 = neon.totalConnections();
      viaHttp.push(...(await latencies(`${full.url}${path}`, 3, auth)));
      wsOfHttp.push(neon.totalConnections() - ws0);
      viaPool.push(...(await latencies(`${pool.url}${path}`, 3, auth)));
    }
    const httpStatements = neon.httpQueries() - httpBefore;
    const wsTotal = neon.totalConnections() - wsBefore;
    // The same read on the standalone stack: createApp on node-postgres, in process.
    const config = parseConfig({
      NODE_ENV: "production",
      LOG_LEVEL: "warn",
      JWT_SECRET: BENCH_JWT_SECRET,
      RATE_LIMIT_READ: "100000000/60s",
    });
    const app = createApp(
      assembleNodeServices({
        config,
        database: pgDb,
        kv: createMemoryKv(),
        logger: createJsonLogger({ level: "warn" }),
        runtime: "node",
      }),
    );
    const standalone: number[] = [];
    for (let i = 0; i < 30; i++) {
      const t0 = performance.now();
      const res = await app.fetch(new Request(`http://bench${path}`, { headers: auth }), {
        clientIp: "127.0.0.1",
      });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`standalone read answered ${res.status}`);
      standalone.push(performance.now() - t0);
    }
    figures.push({
      id: "E3",
      name: "auth GET building on the Worker, p50 (Neon HTTP, after)",
      value: p50(viaHttp),
      unit: "ms",
      note: `${spread(viaHttp)}; ${httpStatements} HTTP statements for ${viaHttp.length + 3} reads`,
    });
    figures.push({
      id: "E3",
      name: "WebSocket connections opened by those reads (Neon HTTP)",
      value: wsOfHttp.reduce((a, b) => a + b, 0),
      unit: "",
      max: 0,
      note: `all reads of both Workers: ${wsTotal} (the Pool Worker opens one per read)`,
    });
    figures.push({
      name: "auth GET building on the Worker, p50 (WebSocket Pool, before)",
      value: p50(viaPool),
      unit: "ms",
      note: spread(viaPool),
    });
    figures.push({
      name: "auth GET building standalone (in process, node-postgres), p50",
      value: p50(standalone.slice(5)),
      unit: "ms",
      note: spread(standalone.slice(5)),
    });
    return figures;
  } finally {
    await Promise.allSettled(workers.map((w) => w.stop()));
    await pgDb.close();
    await Promise.allSettled([neon.stop(), upstash.stop(), scratch.drop()]);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { printFigureTable } = await import("./figures");
  printFigureTable((await benchEdge()).map((figure) => ({ section: "edge", figure })));
  process.exit(0);
}
