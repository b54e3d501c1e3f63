/**
 * A small, reusable load harness for `npm run bench`: each target is a server in a child process
 * (Node via tsx, or Bun), so the load generator (autocannon, in this process) and the server do
 * not share a thread. Targets are measured round-robin over several short rounds and the median
 * is kept, so background load on a shared machine drifts over every target alike. Ratios between
 * targets are the figures that matter; absolute requests/s depend on the machine.
 *
 *   const results = await runBench({ targets, ratios });   // prints the table and the ratios
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = (name: string) => join(ROOT, "node_modules", ".bin", name);

export interface Server {
  name: string;
  runtime: "node" | "bun";
  /** Script path relative to the repository root; it prints `READY <port>` when listening. */
  file: string;
}

export interface Target {
  /** Row label in the table. */
  name: string;
  server: Server;
  path: string;
  headers?: Record<string, string>;
}

export interface Ratio {
  name: string;
  numerator: string;
  denominator: string;
  /** Budget from ARCHITECTURE.md; omitted = informational. */
  min?: number;
}

export interface BenchOptions {
  targets: Target[];
  ratios: Ratio[];
  /** Seconds per measurement round (default 3) and rounds per target (default 3). */
  seconds?: number;
  rounds?: number;
  warmupSeconds?: number;
  connections?: number;
}

export interface BenchResult {
  rps: Record<string, number>;
  ratios: Array<Ratio & { value: number; ok: boolean | null }>;
}

interface Running {
  child: ChildProcess;
  port: number;
}

async function startServer(server: Server): Promise<Running> {
  const [cmd, args] = server.runtime === "bun" ? [BIN("bun"), [server.file]] : [BIN("tsx"), [server.file]];
  const child = spawn(cmd, args, {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NODE_ENV: "production" },
  });
  let out = "";
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${server.name} did not start:\n${out}`)), 60_000);
    const onData = (d: Buffer) => {
      out += d;
      const m = /READY (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (d) => {
      out += d;
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${server.name} exited with ${code}:\n${out}`));
    });
  });
  return { child, port };
}

async function stopServer({ child }: Running): Promise<void> {
  if (child.exitCode !== null || !child.pid) return;
  const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {
    return;
  }
  if (!(await Promise.race([gone.then(() => true), sleep(5_000).then(() => false)]))) {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {}
  }
}

/** Requests/s of one target for `seconds`; throws when any response is not 2xx. */
export async function measure(
  url: string,
  options: { seconds: number; connections: number; headers?: Record<string, string> },
): Promise<number> {
  const r = await autocannon({
    url,
    connections: options.connections,
    pipelining: 1,
    duration: options.seconds,
    ...(options.headers ? { headers: options.headers } : {}),
  });
  if (r.errors || r.timeouts || r.non2xx) {
    throw new Error(`${url}: ${r.errors} errors, ${r.timeouts} timeouts, ${r.non2xx} non-2xx responses`);
  }
  return r.requests.average;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export async function runBench(options: BenchOptions): Promise<BenchResult> {
  const seconds = options.seconds ?? 3;
  const rounds = options.rounds ?? 3;
  const warmup = options.warmupSeconds ?? 2;
  const connections = options.connections ?? 32;
  const servers = [...new Map(options.targets.map((t) => [t.server.name, t.server])).values()];
  const running = new Map<string, Running>();
  try {
    // One at a time: start-up (tsx transpile, PGlite migrate) must not skew a neighbour.
    for (const s of servers) running.set(s.name, await startServer(s));
    const url = (t: Target) => `http://127.0.0.1:${running.get(t.server.name)!.port}${t.path}`;

    for (const t of options.targets) {
      const res = await fetch(url(t), t.headers ? { headers: t.headers } : {});
      if (!res.ok) throw new Error(`${t.name}: GET ${t.path} answered ${res.status}: ${await res.text()}`);
      await measure(url(t), { seconds: warmup, connections, headers: t.headers });
    }
    const samples = new Map<string, number[]>(options.targets.map((t) => [t.name, []]));
    for (let round = 0; round < rounds; round++) {
      for (const t of options.targets) {
        samples.get(t.name)!.push(await measure(url(t), { seconds, connections, headers: t.headers }));
      }
    }
    const rps = Object.fromEntries([...samples].map(([name, xs]) => [name, median(xs)]));
    const ratios = options.ratios.map((r) => {
      const value = rps[r.numerator]! / rps[r.denominator]!;
      return { ...r, value, ok: r.min === undefined ? null : value >= r.min };
    });
    report(options.targets, samples, rps, ratios);
    return { rps, ratios };
  } finally {
    await Promise.all([...running.values()].map(stopServer));
  }
}

function report(
  targets: Target[],
  samples: Map<string, number[]>,
  rps: Record<string, number>,
  ratios: BenchResult["ratios"],
) {
  const w = Math.max(...targets.map((t) => t.name.length), 10);
  const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
  console.log(`\n${"target".padEnd(w)}  runtime  ${"req/s (median)".padStart(14)}  rounds`);
  for (const t of targets) {
    const rounds = samples.get(t.name)!.map(fmt).join(" / ");
    console.log(
      `${t.name.padEnd(w)}  ${t.server.runtime.padEnd(7)}  ${fmt(rps[t.name]!).padStart(14)}  ${rounds}`,
    );
  }
  const rw = Math.max(...ratios.map((r) => r.name.length), 10);
  console.log(`\n${"ratio".padEnd(rw)}  value  budget  verdict`);
  for (const r of ratios) {
    const budget = r.min === undefined ? "   -  " : `≥ ${r.min.toFixed(2)}`;
    const verdict = r.ok === null ? "info" : r.ok ? "ok" : "MISS";
    console.log(`${r.name.padEnd(rw)}  ${r.value.toFixed(2).padStart(5)}  ${budget}  ${verdict}`);
  }
}
