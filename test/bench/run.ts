/**
 * `npm run bench`: every performance budget of ARCHITECTURE.md and issue 19 in one table.
 * Sections (BENCH_ONLY=http,stack,... picks some; default all):
 *   http      over the wire, servers in child processes, round-robin rounds (harness.ts):
 *             bare Hono / node:http ≥ 0.80 · H2 full stack /health / bare Hono ≥ 0.60 on Node and
 *             on Bun · H4 Hono on Bun / Bun.serve ≥ 0.90 · H3 authenticated GET building on
 *             PostgreSQL / bare Hono running the same SELECT on the same pool ≥ 0.50 · bare Hono
 *             whose route spends 10 µs of CPU / bare Hono (what 10 µs per request costs H2's ratio)
 *   stack     each middleware's share of the stack (in process, CPU per request; informational)
 *   api-layer R1 rate-limited / unlimited ≥ 0.70 on memory and on local Redis (in process)
 *   bundle    the Worker bundle's gzip size against its budget (Bundle)
 *   start     `npm start` on an empty DATA_DIR after `npm install` (which prepares the PGlite
 *             template) → /health 200 ≤ 5 s, restart ≤ 2 s (Start); the install step and a start
 *             without any template beside them (informational)
 *   memory    standalone RSS after BENCH_MEMORY_SECONDS (60) of mixed load on PGlite (Memory)
 *   edge      workerd under wrangler dev: E1 full Worker /health / bare Hono Worker ≥ 0.60, E2
 *             argon2id ≤ 50 ms, E3 p50 of an authenticated read (edge.bench.ts)
 *   notifications  one announcement to 1,000 devices through the in-process job path: rendered and
 *             handed to providers per CPU-second ≥ 2,000, commit → first provider request p50 ≤ 50 ms
 *   images    12 MP JPEG through sharp, CPU per image (images.bench.ts): I1 whole set (WebP original +
 *             150/300/600) from one decode / one resize ≤ 1.6, I1t thumbnails / one 600 px resize ≤ 1.6,
 *             I2 fully processed images per second per core beside sharp's resize alone
 *   storage   presign latency per URL (µs): S3 (our request through S3RequestPresigner, and the
 *             SDK's getSignedUrl pipeline beside it) and filesystem URLs, a bare HMAC as baseline
 *   webhooks  W1 webhook deliveries per CPU-second to a local 200 receiver ≥ 1,000 (fan-out + signed
 *             pinned POST + attempt rows, PostgreSQL), bare keep-alive POSTs beside it; W2 signing µs
 *   sync      on PostgreSQL (sync.bench.ts): S1 pull of N rows / raw SELECT ≤ 2 for N = 10 … 10,000
 *             (BENCH_NS) and linear, S2 pull ≥ 20,000 rows/s, S3 push / raw upsert ≥ 0.5
 *   realtime  standalone over localhost (realtime.bench.ts): S4 commit → poke p50 ≤ 5 ms, p99 ≤ 15 ms;
 *             1 KB broadcast to 1,000 sockets ≥ 30,000 deliveries/s
 * A section is `{ name, run: () => Promise<Figure[]> }` in `sections` below: add yours there;
 * `lazySection` runs it in a forked process of its own. A section that throws becomes a failed
 * line in the table; the others still run.
 * `BENCH_STRICT=1` exits non-zero when any budget is missed (off by default: a shared machine is
 * noisy). HTTP ratios are judged on server CPU per request (harness.ts says why); both printed.
 */
import { fork } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { signAccessToken } from "../../src/modules/identity/tokens";
import { createScratchDatabase } from "../support/scratch-db";
import { type Figure, printFigureTable, verdictOf } from "./figures";
import { type Ratio, runBench, type Server, type Target } from "./harness";
import { BENCH_BUILDING_ID, BENCH_JWT_SECRET, BENCH_MANAGER_ID } from "./targets/bench-tenant";

export interface Section {
  name: string;
  run(): Promise<Figure[]>;
}

async function httpSection(): Promise<Figure[]> {
  const pg = await createScratchDatabase({ migrated: false });
  try {
    const onPg = { BENCH_DATABASE_URL: pg.url };
    const server = (name: string, runtime: Server["runtime"], target: string, env?: Record<string, string>) =>
      ({ name, runtime, file: `test/bench/targets/${target}.ts`, ...(env ? { env } : {}) }) satisfies Server;
    const nodeHttp = server("node-http", "node", "node-http");
    const honoNode = server("hono-node", "node", "hono");
    const fullNode = server("full-node", "node", "full-app");
    const fullPg = server("full-pg", "node", "full-app", onPg);
    const barePg = server("bare-pg", "node", "pg-bare", onPg);
    const bunServe = server("bun-serve", "bun", "bun-serve");
    const honoBun = server("hono-bun", "bun", "hono");
    const fullBun = server("full-bun", "bun", "full-app");
    // Calibration of H2: bare Hono whose route first spends 10 µs of CPU.
    const spinNode = server("spin-node", "node", "hono", { SPIN_US: "10" });
    const spinBun = server("spin-bun", "bun", "hono", { SPIN_US: "10" });

    const token = await signAccessToken(
      { userId: BENCH_MANAGER_ID, isAdmin: false },
      BENCH_JWT_SECRET,
      new Date(),
      3600,
    );
    const auth = { authorization: `Bearer ${token}` };
    const building = `/api/v1/buildings/${BENCH_BUILDING_ID}`;
    const targets: Target[] = [
      { name: "node:http", server: nodeHttp, path: "/health" },
      { name: "hono (node)", server: honoNode, path: "/health" },
      { name: "full GET /health", server: fullNode, path: "/health" },
      { name: "hono + 10 µs (node)", server: spinNode, path: "/health" },
      { name: "full GET building (PGlite)", server: fullNode, path: building, headers: auth },
      { name: "full GET building (PG)", server: fullPg, path: building, headers: auth },
      { name: "bare SELECT building (PG)", server: barePg, path: building },
      { name: "Bun.serve", server: bunServe, path: "/health" },
      { name: "hono (bun)", server: honoBun, path: "/health" },
      { name: "full GET /health (bun)", server: fullBun, path: "/health" },
      { name: "hono + 10 µs (bun)", server: spinBun, path: "/health" },
    ];
    const ratios: Array<Ratio & { id?: string }> = [
      { name: "bare Hono / node:http", numerator: "hono (node)", denominator: "node:http", min: 0.8 },
      {
        id: "H2",
        name: "full stack /health / bare Hono (node)",
        numerator: "full GET /health",
        denominator: "hono (node)",
        min: 0.6,
      },
      {
        id: "H2",
        name: "full stack /health / bare Hono (bun)",
        numerator: "full GET /health (bun)",
        denominator: "hono (bun)",
        min: 0.6,
      },
      {
        name: "bare Hono + 10 µs of CPU per request / bare Hono (node)",
        numerator: "hono + 10 µs (node)",
        denominator: "hono (node)",
      },
      {
        name: "bare Hono + 10 µs of CPU per request / bare Hono (bun)",
        numerator: "hono + 10 µs (bun)",
        denominator: "hono (bun)",
      },
      {
        id: "H4",
        name: "Hono on Bun / Bun.serve",
        numerator: "hono (bun)",
        denominator: "Bun.serve",
        min: 0.9,
      },
      {
        id: "H3",
        name: "auth GET building (PG) / bare Hono same SELECT",
        numerator: "full GET building (PG)",
        denominator: "bare SELECT building (PG)",
        min: 0.5,
      },
      {
        name: "auth GET building (PGlite) / bare Hono /health",
        numerator: "full GET building (PGlite)",
        denominator: "hono (node)",
      },
    ];
    const result = await runBench({
      targets,
      ratios,
      seconds: Number(process.env.BENCH_SECONDS ?? 2),
      rounds: Number(process.env.BENCH_ROUNDS ?? 5),
    });
    return result.ratios.map((r, i) => ({
      ...(ratios[i]!.id ? { id: ratios[i]!.id } : {}),
      name: r.name,
      value: r.value,
      unit: "ratio",
      ...(r.min !== undefined ? { min: r.min } : {}),
      note: `by ${r.by}; rounds ${r.rounds.map((x) => x.toFixed(2)).join("/")}; req/s ratio ${r.rpsValue.toFixed(2)}`,
    }));
  } finally {
    await pg.drop();
  }
}

async function stackSection(): Promise<Figure[]> {
  const { benchStackShares, printStackShares } = await import("./stack-share.bench");
  const shares = await benchStackShares();
  printStackShares(shares);
  const base = shares[0]!.us;
  return shares.slice(1).map((s) => ({
    name: `in process: ${s.name}`,
    value: s.us,
    unit: "µs",
    note: `CPU per request; bare Hono ${base.toFixed(1)} µs`,
  }));
}

async function apiLayerSection(): Promise<Figure[]> {
  const { benchApiLayer } = await import("./api-layer.bench");
  return (await benchApiLayer()).map((f) => ({
    ...(f.min !== undefined ? { id: "R1" } : {}),
    name: f.name,
    value: f.value,
    unit: f.unit,
    ...(f.min !== undefined ? { min: f.min } : {}),
  }));
}

/**
 * A section that measures in its own process (CPU per image, per delivery, per op): it runs in a
 * forked child, so what earlier sections leave behind (pools, timers, a large heap to collect)
 * is not counted in its figures and the order of sections does not change them.
 */
async function lazySection(file: string, exportName: string): Promise<Figure[]> {
  const module = fileURLToPath(new URL(file, import.meta.url));
  const child = fork(fileURLToPath(new URL("./section-child.ts", import.meta.url)), [module, exportName], {
    execArgv: ["--import", "tsx"],
    serialization: "advanced",
    stdio: "inherit",
  });
  let figures: Figure[] | undefined;
  child.on("message", (m) => {
    figures = m as Figure[];
  });
  const [code, signal] = (await once(child, "exit")) as [number | null, string | null];
  if (!figures) throw new Error(`section process ${exportName} exited (${signal ?? code}) without figures`);
  return figures;
}

/** The sections, in the order they run. Add a bench here. */
export const sections: Section[] = [
  { name: "http", run: httpSection },
  { name: "stack", run: stackSection },
  { name: "api-layer", run: apiLayerSection },
  { name: "bundle", run: () => lazySection("./bundle.bench.ts", "benchBundle") },
  { name: "start", run: () => lazySection("./start.bench.ts", "benchStart") },
  { name: "memory", run: () => lazySection("./memory.bench.ts", "benchMemory") },
  { name: "edge", run: () => lazySection("./edge.bench.ts", "benchEdge") },
  { name: "notifications", run: () => lazySection("./notifications.bench.ts", "benchNotifications") },
  { name: "images", run: () => lazySection("./images.bench.ts", "benchImages") },
  { name: "storage", run: () => lazySection("./storage.bench.ts", "benchStorage") },
  { name: "webhooks", run: () => lazySection("./webhooks.bench.ts", "benchWebhooks") },
  { name: "sync", run: () => lazySection("./sync.bench.ts", "benchSync") },
  { name: "realtime", run: () => lazySection("./realtime.bench.ts", "benchRealtime") },
];

export async function runSections(
  only = process.env.BENCH_ONLY,
): Promise<Array<{ section: string; figure: Figure }>> {
  const wanted = only ? new Set(only.split(",").map((s) => s.trim())) : null;
  const rows: Array<{ section: string; figure: Figure }> = [];
  for (const section of sections) {
    if (wanted && !wanted.has(section.name)) continue;
    const started = Date.now();
    console.log(`\n== ${section.name}`);
    try {
      for (const figure of await section.run()) rows.push({ section: section.name, figure });
    } catch (err) {
      console.error(`section ${section.name} failed:`, err);
      rows.push({
        section: section.name,
        figure: {
          name: `${section.name} (failed)`,
          value: null,
          unit: "",
          min: 0,
          note: String(err).slice(0, 200),
        },
      });
    }
    console.log(`${section.name} took ${Math.round((Date.now() - started) / 1000)} s`);
  }
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  const { loadavg } = await import("node:os");
  const load = () =>
    loadavg()
      .map((x) => x.toFixed(1))
      .join(" ");
  const loadBefore = load();
  const rows = await runSections();
  printFigureTable(rows);
  console.log(
    `\nbench took ${Math.round((Date.now() - started) / 1000)} s; load average before ${loadBefore}, after ${load()}`,
  );
  const missed = rows.filter((r) => verdictOf(r.figure) === "MISS");
  if (missed.length)
    console.log(
      `${missed.length} budget(s) missed: ${missed.map((r) => r.figure.id ?? r.figure.name).join(", ")}`,
    );
  if (process.env.BENCH_STRICT === "1" && missed.length) process.exitCode = 1;
  // Pools and timers of in-process sections must not keep the runner alive.
  process.exit(process.exitCode ?? 0);
}
