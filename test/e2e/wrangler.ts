/**
 * Boots the real edge Worker (wrangler.toml → workers/edge.ts) in workerd with `wrangler dev` on
 * a free loopback port, with its variables in a temporary env file, and stops it cleanly. The
 * process gets its own process group so that stopping it also ends the workerd children.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { type NeonBridge, startNeonBridge } from "../support/neon-bridge";
import { createScratchDatabase, type ScratchDatabase } from "../support/scratch-db";
import { startUpstashBridge, type UpstashBridge } from "../support/upstash-bridge";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const WRANGLER = join(ROOT, "node_modules", ".bin", "wrangler");

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface WranglerDev {
  url: string;
  /**
   * The Worker's KV_PREFIX: each Worker started here has its own (unless `vars` names one), so
   * Workers of different test files sharing the local Redis never share a rate-limit counter or
   * a cache entry — ten sign-ins from 127.0.0.1 across files within a minute used to be a 429.
   */
  kvPrefix: string;
  /** Process id of wrangler, leader of the process group workerd runs in (CPU accounting). */
  pid: number;
  /** Everything wrangler and the Worker printed so far (for failure messages and log checks). */
  output(): string;
  stop(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals) {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
}

/**
 * Stops a child spawned with `detached: true` (its own process group) and everything it started:
 * SIGTERM to the group, SIGKILL after 10 s, then SIGKILL again so no workerd child outlives it.
 */
export async function stopGroup(child: ChildProcess): Promise<void> {
  signalGroup(child, "SIGTERM");
  const done = await Promise.race([exited(child).then(() => true), sleep(10_000).then(() => false)]);
  if (!done) {
    signalGroup(child, "SIGKILL");
    await exited(child);
  }
  signalGroup(child, "SIGKILL");
}

/** Starts `wrangler dev` with `vars` as the Worker's environment and waits until it answers. */
export async function startWranglerDev(
  vars: Record<string, string>,
  options: { readyPath?: string; timeoutMs?: number; port?: number; config?: string } = {},
): Promise<WranglerDev> {
  const dir = await mkdtemp(join(tmpdir(), "horizon-e2e-"));
  const envFile = join(dir, "worker.env");
  const env = { KV_PREFIX: `e2e-${randomUUID().slice(0, 8)}:`, ...vars };
  // One KEY=value per line; values are quoted so URLs with `#`, `=` or spaces survive.
  await writeFile(
    envFile,
    Object.entries(env)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}\n`)
      .join(""),
  );
  // A caller that must know the URL before boot (a callback URL in `vars`) picks the port.
  const [port, inspectorPort] = [options.port ?? (await freePort()), await freePort()];
  const child = spawn(
    WRANGLER,
    [
      "dev",
      // Another Worker than wrangler.toml's (the bench's bare Hono Worker).
      ...(options.config ? ["--config", options.config] : []),
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspectorPort),
      "--env-file",
      envFile,
      "--persist-to",
      join(dir, "state"),
      "--show-interactive-dev-session=false",
      // "log" (not "info") so the Worker's console.log lines reach us.
      "--log-level",
      "log",
    ],
    {
      cwd: ROOT,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", FORCE_COLOR: "0" },
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
    await stopGroup(child);
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  while (true) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`wrangler dev exited with ${child.exitCode} before answering:\n${out}`);
    }
    try {
      await fetch(`${url}${options.readyPath ?? "/health"}`, { signal: AbortSignal.timeout(5_000) });
      break;
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`wrangler dev did not answer on ${url} in time:\n${out}`);
      }
      await sleep(250);
    }
  }
  return { url, kvPrefix: env.KV_PREFIX, pid: child.pid!, output: () => out, stop };
}

/**
 * The Worker with the cloud stand-ins it needs to serve building routes: the Neon WebSocket
 * bridge and the Upstash REST bridge in front of the local PostgreSQL and Redis, and a migrated
 * scratch database. `stop()` ends the Worker first, then the bridges and the database.
 */
export interface EdgeStack {
  neon: NeonBridge;
  upstash: UpstashBridge;
  database: ScratchDatabase;
  edge: WranglerDev;
  stop(): Promise<void>;
}

export async function startEdgeStack(
  jwtSecret: string,
  vars: Record<string, string> = {},
): Promise<EdgeStack> {
  const [neon, upstash, database] = await Promise.all([
    startNeonBridge(),
    startUpstashBridge(),
    createScratchDatabase({ migrated: true }),
  ]);
  const edge = await startWranglerDev({
    DATABASE_URL: database.url,
    NEON_WS_PROXY: neon.wsProxy,
    UPSTASH_REDIS_REST_URL: upstash.url,
    UPSTASH_REDIS_REST_TOKEN: upstash.token,
    JWT_SECRET: jwtSecret,
    ...vars,
  });
  return {
    neon,
    upstash,
    database,
    edge,
    async stop() {
      await Promise.allSettled([edge.stop()]);
      await Promise.allSettled([neon.stop(), upstash.stop(), database.drop()]);
    },
  };
}
