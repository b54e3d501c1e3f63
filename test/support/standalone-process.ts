/**
 * A standalone host (`workers/standalone.ts` under Bun) in a process group of its own, with a
 * fresh DATA_DIR and a free port, ready once `/health` answers and the demo building is seeded.
 * `startBunHost` (this checkout, as `npm start` runs it) and the migration compatibility test (the
 * previous release's checkout) both start their hosts here.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stopGroup } from "../e2e/wrangler";
import { freePort } from "./net";

const ROOT = join(import.meta.dirname, "../..");

export interface HostProcess {
  port: number;
  base: string;
  output(): string;
  stop(): Promise<void>;
}

export async function startHostProcess(options: {
  /** The checkout to run (its own workers/standalone.ts); this one by default. */
  cwd?: string;
  /** Bun's arguments (flags, then the script). */
  args: string[];
  env: Record<string, string>;
  /** Names the host in errors. */
  label: string;
  readyTimeoutMs: number;
}): Promise<HostProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), "horizon-host-"));
  const port = await freePort();
  const child: ChildProcess = spawn(join(ROOT, "node_modules/.bin/bun"), options.args, {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, PORT: String(port), DATA_DIR: dataDir, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let out = "";
  child.stdout!.on("data", (d) => {
    out += d;
  });
  child.stderr!.on("data", (d) => {
    out += d;
  });
  const base = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await stopGroup(child);
    rmSync(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + options.readyTimeoutMs;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`${options.label} exited with ${child.exitCode}:\n${out}`);
    }
    try {
      if ((await fetch(`${base}/health`)).ok && /Demo building/.test(out)) break;
    } catch {}
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${options.label} did not answer:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { port, base, output: () => out, stop };
}
