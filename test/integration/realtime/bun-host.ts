/**
 * The standalone host as `npm start` runs it (the start script's own Bun flags), in a fresh
 * DATA_DIR with the demo building, for end-to-end tests of what Bun.serve does around the app.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stopGroup } from "../../e2e/wrangler";
import type { TestUser } from "../../support/fixtures";
import { freePort } from "../../support/net";

const ROOT = join(import.meta.dirname, "../../..");
export const DEMO_PASSWORD = "Horizon-Demo-2026!";

export interface BunHost {
  base: string;
  wsBase: string;
  buildingId: string;
  output(): string;
  signIn(email: string): Promise<TestUser>;
  stop(): Promise<void>;
}

/**
 * `bun <flags of the npm start script> workers/standalone.ts`, with `env` on top; ready once
 * `/health` answers and the demo building is seeded (a first start on a loaded machine — PGlite
 * initdb, migrations, the seed's argon2id hashes — can take long: `readyTimeoutMs`).
 */
export async function startBunHost(
  env: Record<string, string> = {},
  options: { readyTimeoutMs?: number } = {},
): Promise<BunHost> {
  const script = (
    JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: { start: string } }
  ).scripts.start;
  const [cmd, ...args] = script.split(/\s+/);
  if (cmd !== "bun") throw new Error(`npm start no longer runs bun: ${script}`);
  const dataDir = mkdtempSync(join(tmpdir(), "horizon-bun-"));
  const port = await freePort();
  const child: ChildProcess = spawn(join(ROOT, "node_modules/.bin/bun"), args, {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      DATA_DIR: dataDir,
      LOG_LEVEL: "warn",
      DATABASE_URL: "",
      REDIS_URL: "",
      ...env,
    },
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
  const deadline = Date.now() + (options.readyTimeoutMs ?? 90_000);
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`bun host exited with ${child.exitCode}:\n${out}`);
    }
    try {
      if ((await fetch(`${base}/health`)).ok && /Demo building/.test(out)) break;
    } catch {}
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`bun host did not answer:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const buildingId = /Demo building {2}.* \(([0-9a-f-]{36})\)/.exec(out)?.[1];
  if (!buildingId) throw new Error(`no demo building in the output:\n${out}`);
  return {
    base,
    wsBase: `ws://127.0.0.1:${port}`,
    buildingId,
    output: () => out,
    async signIn(email) {
      const res = await fetch(`${base}/api/v1/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email, password: DEMO_PASSWORD }),
      });
      if (res.status !== 200) throw new Error(`login ${email}: ${res.status} ${await res.text()}`);
      const { accessToken, user } = (await res.json()) as { accessToken: string; user?: { id: string } };
      const me = user?.id
        ? user
        : ((await (
            await fetch(`${base}/api/v1/me`, { headers: { authorization: `Bearer ${accessToken}` } })
          ).json()) as { id: string });
      return { id: me.id, email, token: accessToken, auth: { authorization: `Bearer ${accessToken}` } };
    },
    stop,
  };
}
