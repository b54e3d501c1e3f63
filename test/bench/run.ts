/**
 * `npm run bench`: the HTTP performance budget of ARCHITECTURE.md, measured as ratios in one run.
 *   bare Hono / bare node:http ≥ 0.80 · full middleware stack / bare Hono ≥ 0.60 ·
 *   Hono on Bun / bare Bun.serve ≥ 0.90
 * `BENCH_STRICT=1` exits non-zero when a budget is missed (off by default: a shared machine is
 * noisy). Loopback only; about a minute and a half.
 */
import { signAccessToken } from "../../src/modules/identity/tokens";
import { type Ratio, runBench, type Server, type Target } from "./harness";
import { BENCH_BUILDING_ID, BENCH_JWT_SECRET, BENCH_MANAGER_ID } from "./targets/bench-tenant";

const nodeHttp: Server = { name: "node-http", runtime: "node", file: "test/bench/targets/node-http.ts" };
const honoNode: Server = { name: "hono-node", runtime: "node", file: "test/bench/targets/hono.ts" };
const fullNode: Server = { name: "full-node", runtime: "node", file: "test/bench/targets/full-app.ts" };
const bunServe: Server = { name: "bun-serve", runtime: "bun", file: "test/bench/targets/bun-serve.ts" };
const honoBun: Server = { name: "hono-bun", runtime: "bun", file: "test/bench/targets/hono.ts" };
const fullBun: Server = { name: "full-bun", runtime: "bun", file: "test/bench/targets/full-app.ts" };

const token = await signAccessToken(
  { userId: BENCH_MANAGER_ID, isAdmin: false },
  BENCH_JWT_SECRET,
  new Date(),
  3600,
);
const auth = { authorization: `Bearer ${token}` };

/** Routes of the full app to measure; a read route is one more line here. */
const fullRoutes: Array<Pick<Target, "path" | "headers"> & { label: string }> = [
  { label: "/health", path: "/health" },
  { label: "/health/ready", path: "/health/ready" },
  { label: "building", path: `/api/v1/buildings/${BENCH_BUILDING_ID}`, headers: auth },
  { label: "apartments", path: `/api/v1/buildings/${BENCH_BUILDING_ID}/apartments?limit=20`, headers: auth },
];

const targets: Target[] = [
  { name: "node:http", server: nodeHttp, path: "/health" },
  { name: "hono (node)", server: honoNode, path: "/health" },
  ...fullRoutes.map(({ label, ...r }) => ({ name: `full GET ${label}`, server: fullNode, ...r })),
  { name: "Bun.serve", server: bunServe, path: "/health" },
  { name: "hono (bun)", server: honoBun, path: "/health" },
  { name: "full GET /health (bun)", server: fullBun, path: "/health" },
  { name: "full GET building (bun)", server: fullBun, path: fullRoutes[2]!.path, headers: auth },
];

const ratios: Ratio[] = [
  { name: "bare Hono / node:http", numerator: "hono (node)", denominator: "node:http", min: 0.8 },
  {
    name: "full stack /health / bare Hono",
    numerator: "full GET /health",
    denominator: "hono (node)",
    min: 0.6,
  },
  ...fullRoutes.slice(1).map((r) => ({
    name: `full GET ${r.label} / bare Hono`,
    numerator: `full GET ${r.label}`,
    denominator: "hono (node)",
  })),
  { name: "Hono on Bun / Bun.serve", numerator: "hono (bun)", denominator: "Bun.serve", min: 0.9 },
  // The standalone host runs on Bun (`npm start`), so the stack budget is also read there.
  {
    name: "full stack /health / bare Hono (bun)",
    numerator: "full GET /health (bun)",
    denominator: "hono (bun)",
    min: 0.6,
  },
  {
    name: "full GET building / bare Hono (bun)",
    numerator: "full GET building (bun)",
    denominator: "hono (bun)",
  },
];

const started = Date.now();
const result = await runBench({ targets, ratios });
console.log(`\nbench took ${Math.round((Date.now() - started) / 1000)} s`);
if (process.env.BENCH_STRICT === "1" && result.ratios.some((r) => r.ok === false)) process.exitCode = 1;
