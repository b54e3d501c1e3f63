/**
 * The standalone host as `npm start` runs it (the start script's own Bun flags), in a fresh
 * DATA_DIR with the demo building, for end-to-end tests of what Bun.serve does around the app.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { TestUser } from "../../support/fixtures";
import { startHostProcess } from "../../support/standalone-process";

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
  const host = await startHostProcess({
    args,
    env: { LOG_LEVEL: "warn", DATABASE_URL: "", REDIS_URL: "", ...env },
    label: "bun host",
    readyTimeoutMs: options.readyTimeoutMs ?? 90_000,
  });
  const { base, port, stop } = host;
  const buildingId = /Demo building {2}.* \(([0-9a-f-]{36})\)/.exec(host.output())?.[1];
  if (!buildingId) {
    await stop();
    throw new Error(`no demo building in the output:\n${host.output()}`);
  }
  return {
    base,
    wsBase: `ws://127.0.0.1:${port}`,
    buildingId,
    output: host.output,
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
