/**
 * Each middleware's share of the full stack's cost on `GET /health`, in process: requests go
 * through @hono/node-server's own request listener (its lightweight Request/Response, as served)
 * with in-memory sockets, so no network and no load generator share the CPU, and the figure is
 * this process's CPU time per request in the fastest of several interleaved batches (CPU time,
 * not wall time: other processes on the machine do not count).
 * Variants: bare Hono, then the stack of createApp cut after each middleware (test/bench/targets
 * stack.ts builds the same list), then the real createApp.
 *   npx tsx test/bench/stack-share.bench.ts     (or the "stack" section of npm run bench)
 */
import { IncomingMessage, ServerResponse } from "node:http";
import { Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { getRequestListener } from "@hono/node-server";
import { Hono } from "hono";
import { createApp } from "../../src/app";
import { parseConfig } from "../../src/config";
import { createPgliteDatabase } from "../../src/platform/db/pglite";
import { createMemoryKv } from "../../src/platform/kv/memory";
import { createJsonLogger } from "../../src/platform/log/json";
import { assembleNodeServices } from "../../workers/node-services";
import { buildStack, STACK_LAYERS } from "./targets/stack-app";

export interface StackShare {
  name: string;
  /** µs per request, fastest batch. */
  us: number;
}

type Fetch = (req: Request, env?: any) => Response | Promise<Response>;

export function driver(fetch: Fetch) {
  const listener = getRequestListener(fetch as never);
  const socket = new Socket();
  return async () => {
    const req = new IncomingMessage(socket);
    req.method = "GET";
    req.url = "/health";
    req.headers = { host: "bench", "user-agent": "bench/1", accept: "*/*" };
    req.rawHeaders = ["host", "bench", "user-agent", "bench/1", "accept", "*/*"];
    req.complete = true;
    req.push(null);
    const res = new ServerResponse(req);
    await listener(req, res);
    if (res.statusCode !== 200) throw new Error(`bench request answered ${res.statusCode}`);
  };
}

/** CPU µs per request (this process, user + system): time spent by other processes does not count. */
export async function timeOf(run: () => Promise<void>, n: number): Promise<number> {
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) await run();
  const t = process.cpuUsage(t0);
  return (t.user + t.system) / n;
}

export async function benchStackShares(options: { batch?: number; batches?: number } = {}) {
  const batch = options.batch ?? 3000;
  const batches = options.batches ?? 7;
  const config = parseConfig({
    ...process.env,
    LOG_LEVEL: "info",
    SEED_DEMO: "false",
    NODE_ENV: "production",
  });
  const database = await createPgliteDatabase();
  const services = assembleNodeServices({
    config,
    database,
    kv: createMemoryKv(),
    logger: createJsonLogger({ level: "info", sink: () => {} }),
    runtime: "node",
  });
  const bare = new Hono();
  bare.get("/health", (c) => c.json({ status: "ok" }));
  const variants: Array<[string, Fetch]> = [["bare Hono", bare.fetch]];
  for (let depth = 0; depth < STACK_LAYERS.length; depth++) {
    variants.push([`+ ${STACK_LAYERS[depth]}`, buildStack(services, depth).fetch]);
  }
  variants.push(["createApp", createApp(services).fetch]);
  const runs = variants.map(([name, fetch]) => ({
    name,
    run: driver(fetch),
    best: Number.POSITIVE_INFINITY,
  }));
  for (const r of runs) await timeOf(r.run, 500); // warm up every variant before timing any
  // Interleaved batches: a burst of load elsewhere hits one batch of each, and the minimum drops it.
  for (let b = 0; b < batches; b++)
    for (const r of runs) r.best = Math.min(r.best, await timeOf(r.run, batch));
  await database.close();
  return runs.map((r) => ({ name: r.name, us: r.best }));
}

export function printStackShares(shares: StackShare[]) {
  const base = shares[0]!.us;
  const full = shares[shares.length - 1]!.us;
  console.log(
    `\n${"stack (in process, GET /health)".padEnd(34)}  µs/req  added  share of overhead  ratio to bare`,
  );
  let prev = base;
  for (const s of shares) {
    const added = s.us - prev;
    const share = s === shares[0] ? "" : `${((added / (full - base)) * 100).toFixed(0)}%`;
    console.log(
      `${s.name.padEnd(34)}  ${s.us.toFixed(1).padStart(6)}  ${(s === shares[0] ? "" : added.toFixed(1)).padStart(5)}  ${share.padStart(17)}  ${(base / s.us).toFixed(2).padStart(13)}`,
    );
    if (!s.name.startsWith("createApp")) prev = s.us;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  printStackShares(await benchStackShares());
  process.exit(0);
}
