/**
 * Starts the standalone host the way `npm start` does (Bun, workers/standalone.ts, PGlite in
 * DATA_DIR) on a free port, in its own process group, and stops it (SIGTERM, as a supervisor).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { freePort } from "../e2e/wrangler";
import { groupCpuSeconds } from "./harness";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface Standalone {
  url: string;
  child: ChildProcess;
  /** ms from spawn to the first /health 200. */
  readyMs: number;
  /** CPU seconds the host's process group spent until then (null without /proc). */
  readyCpuS: number | null;
  output(): string;
  stop(): Promise<void>;
}

export async function startStandalone(
  dataDir: string,
  env: Record<string, string> = {},
): Promise<Standalone> {
  const port = await freePort();
  const started = performance.now();
  // package.json's "start": bun --max-http-header-size=1048576 workers/standalone.ts
  const child = spawn(
    join(ROOT, "node_modules", ".bin", "bun"),
    ["--max-http-header-size=1048576", "workers/standalone.ts"],
    {
      cwd: ROOT,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        NODE_ENV: "production",
        PORT: String(port),
        DATA_DIR: dataDir,
        LOG_LEVEL: "warn",
        ...env,
      },
    },
  );
  let out = "";
  child.stdout!.on("data", (d) => {
    out += d;
  });
  child.stderr!.on("data", (d) => {
    out += d;
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || !child.pid) return;
    const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {}
    if (!(await Promise.race([gone.then(() => true), sleep(10_000).then(() => false)]))) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
      await gone;
    }
  };
  while (true) {
    if (child.exitCode !== null) throw new Error(`standalone exited with ${child.exitCode}:\n${out}`);
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) break;
    } catch {}
    if (performance.now() - started > 120_000) {
      await stop();
      throw new Error(`standalone did not answer /health in 120 s:\n${out}`);
    }
    await sleep(25);
  }
  const readyMs = performance.now() - started;
  return { url, child, readyMs, readyCpuS: groupCpuSeconds(child.pid!), output: () => out, stop };
}
