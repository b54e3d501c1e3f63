/**
 * A small, reusable load harness for `npm run bench`: each target is a server in a child process
 * (Node via tsx, or Bun), so the load generator (autocannon, in this process) and the server do
 * not share a thread. Targets are measured round-robin over several short rounds and the median
 * is kept, so background load on a shared machine drifts over every target alike. Ratios between
 * targets are the figures that matter; absolute requests/s depend on the machine.
 *
 * Besides requests/s, each round reads the CPU time the server's process group spent (Linux
 * /proc) and divides it by the requests it served. A server saturated by the load generator
 * serves 1 / (CPU per request) on an idle core, so the CPU ratio is what the throughput ratio
 * would be on an idle machine, and it barely moves when other processes take the cores (the
 * throughput ratio swings 2-3x then). Ratios are judged on CPU per request where /proc exists
 * (`BENCH_BY=rps` judges throughput instead); both are printed.
 *
 *   const results = await runBench({ targets, ratios });   // prints the table and the ratios
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
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
  /** Extra environment of this server (e.g. a variant switch of a shared target file). */
  env?: Record<string, string>;
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
  /** Each ratio is the median of its per-round ratios (numerator and denominator measured in the same round). */
  ratios: Array<
    Ratio & { value: number; ok: boolean | null; rounds: number[]; rpsValue: number; by: "cpu" | "rps" }
  >;
}

interface Running {
  child: ChildProcess;
  port: number;
}

const TICKS_PER_SECOND = 100; // Linux USER_HZ

/** CPU seconds (user + system) of every live process in the group led by `pgid`; null without /proc. */
export function groupCpuSeconds(pgid: number): number | null {
  let ticks = 0;
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return null;
  }
  for (const pid of entries) {
    if (!/^\d+$/.test(pid)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      continue;
    }
    // Fields after the parenthesised command name: state ppid pgrp ... utime(14) stime(15).
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(rest[2]) !== pgid) continue;
    ticks += Number(rest[11]) + Number(rest[12]);
  }
  return ticks / TICKS_PER_SECOND;
}

async function startServer(server: Server): Promise<Running> {
  const [cmd, args] = server.runtime === "bun" ? [BIN("bun"), [server.file]] : [BIN("tsx"), [server.file]];
  const child = spawn(cmd, args, {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NODE_ENV: "production", ...server.env },
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

export interface Sample {
  rps: number;
  /** Server CPU microseconds per request (its process group), when measurable. */
  cpuUs: number | null;
}

/** Requests/s of one target for `seconds`; throws when any response is not 2xx. */
export async function measure(
  url: string,
  options: { seconds: number; connections: number; headers?: Record<string, string> },
): Promise<number> {
  return (await measureSample(url, options)).rps;
}

/** Requests/s and, given the server's process group, its CPU time per request. */
export async function measureSample(
  url: string,
  options: { seconds: number; connections: number; headers?: Record<string, string>; pgid?: number },
): Promise<Sample> {
  const cpu0 = options.pgid ? groupCpuSeconds(options.pgid) : null;
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
  const cpu1 = options.pgid ? groupCpuSeconds(options.pgid) : null;
  const cpuUs =
    cpu0 !== null && cpu1 !== null && r.requests.total > 0 ? ((cpu1 - cpu0) * 1e6) / r.requests.total : null;
  return { rps: r.requests.average, cpuUs };
}

export const median = (xs: number[]) => {
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
    const all = new Map<string, Sample[]>(options.targets.map((t) => [t.name, []]));
    for (let round = 0; round < rounds; round++) {
      for (const t of options.targets) {
        const pgid = running.get(t.server.name)!.child.pid;
        all
          .get(t.name)!
          .push(await measureSample(url(t), { seconds, connections, headers: t.headers, pgid }));
      }
    }
    const samples = new Map([...all].map(([name, xs]) => [name, xs.map((x) => x.rps)]));
    const cpu = new Map([...all].map(([name, xs]) => [name, xs.map((x) => x.cpuUs)]));
    const rps = Object.fromEntries([...samples].map(([name, xs]) => [name, median(xs)]));
    const byCpu =
      process.env.BENCH_BY !== "rps" && [...cpu.values()].every((xs) => xs.every((x) => x !== null));
    // Per round, not of the medians: a round's two figures were taken seconds apart, so a burst of
    // load from elsewhere on the machine moves both; the median of the rounds' ratios discards it.
    const ratios = options.ratios.map((r) => {
      const rpsRounds = samples.get(r.numerator)!.map((n, i) => n / samples.get(r.denominator)![i]!);
      const cpuRounds = byCpu ? cpu.get(r.numerator)!.map((n, i) => cpu.get(r.denominator)![i]! / n!) : null;
      const rounds = cpuRounds ?? rpsRounds;
      const value = median(rounds);
      return {
        ...r,
        value,
        rounds,
        rpsValue: median(rpsRounds),
        by: cpuRounds ? ("cpu" as const) : ("rps" as const),
        ok: r.min === undefined ? null : value >= r.min,
      };
    });
    report(options.targets, samples, cpu, rps, ratios);
    return { rps, ratios };
  } finally {
    await Promise.all([...running.values()].map(stopServer));
  }
}

function report(
  targets: Target[],
  samples: Map<string, number[]>,
  cpu: Map<string, Array<number | null>>,
  rps: Record<string, number>,
  ratios: BenchResult["ratios"],
) {
  const w = Math.max(...targets.map((t) => t.name.length), 10);
  const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
  const us = (xs: Array<number | null>) =>
    xs.every((x) => x !== null) ? median(xs as number[]).toFixed(1) : "-";
  console.log(
    `\n${"target".padEnd(w)}  runtime  ${"req/s (median)".padStart(14)}  cpu µs/req  rounds (req/s)`,
  );
  for (const t of targets) {
    const rounds = samples.get(t.name)!.map(fmt).join(" / ");
    console.log(
      `${t.name.padEnd(w)}  ${t.server.runtime.padEnd(7)}  ${fmt(rps[t.name]!).padStart(14)}  ${us(cpu.get(t.name)!).padStart(10)}  ${rounds}`,
    );
  }
  const rw = Math.max(...ratios.map((r) => r.name.length), 10);
  console.log(`\n${"ratio".padEnd(rw)}  value  budget  verdict  by   req/s ratio  rounds`);
  for (const r of ratios) {
    const budget = r.min === undefined ? "   -  " : `≥ ${r.min.toFixed(2)}`;
    const verdict = r.ok === null ? "info" : r.ok ? "ok" : "MISS";
    const spread = r.rounds.map((x) => x.toFixed(2)).join(" / ");
    console.log(
      `${r.name.padEnd(rw)}  ${r.value.toFixed(2).padStart(5)}  ${budget}  ${verdict.padEnd(7)}  ${r.by}  ${r.rpsValue.toFixed(2).padStart(11)}  ${spread}`,
    );
  }
}
