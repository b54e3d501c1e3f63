/**
 * The standalone host as `npm start` runs it: Bun, PGlite in a fresh DATA_DIR, migrations and
 * demo seed at start; and a bad variable stops it with a message naming the variable.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openRoom, roomToken } from "../integration/realtime/harness";
import type { TestUser } from "../support/fixtures";
import { freePort } from "../support/net";

const BUN = join(process.cwd(), "node_modules/.bin/bun");

function run(env: Record<string, string>) {
  const child = spawn(BUN, ["workers/standalone.ts"], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d) => {
    out += d;
  });
  child.stderr!.on("data", (d) => {
    out += d;
  });
  return { child, output: () => out };
}

async function waitFor(url: string, child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`host exited with ${child.exitCode}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no answer from ${url}`);
}

describe("standalone host under Bun", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "horizon-e2e-"));
  let port: number;
  let host: ReturnType<typeof run>;

  beforeAll(async () => {
    port = await freePort();
    host = run({ PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: "warn", DATABASE_URL: "", REDIS_URL: "" });
    await waitFor(`http://127.0.0.1:${port}/health`, host.child);
  });
  afterAll(() => {
    host?.child.kill("SIGTERM");
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("serves health, readiness, the OpenAPI document and the docs page", async () => {
    const base = `http://127.0.0.1:${port}`;
    expect((await (await fetch(`${base}/health`)).json()).runtime).toBe("bun");
    expect((await fetch(`${base}/health/ready`)).status).toBe(200);
    expect((await (await fetch(`${base}/openapi.json`)).json()).openapi).toBe("3.1.0");
    const docs = await (await fetch(`${base}/docs`)).text();
    expect(docs).toContain("/openapi.json");
    // The reference's script is served locally, so /docs renders on a machine without internet.
    expect(docs).toContain('src="/docs/scalar.js"');
    const script = await fetch(`${base}/docs/scalar.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get("content-type")).toContain("javascript");
    expect((await script.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
  });

  it("prints where to go and the demo building", () => {
    expect(host.output()).toContain("/docs");
    expect(host.output()).toContain("Demo building");
  });

  it("serves building rooms over Bun's WebSocket: presence and a poke after an API write", async () => {
    const base = `http://127.0.0.1:${port}`;
    const buildingId = /Demo building {2}.* \(([0-9a-f-]{36})\)/.exec(host.output())![1]!;
    const signIn = async (email: string): Promise<TestUser> => {
      const res = await fetch(`${base}/api/v1/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email, password: "Horizon-Demo-2026!" }),
      });
      expect(res.status).toBe(200);
      const { accessToken } = (await res.json()) as { accessToken: string };
      return { id: "", email, token: accessToken, auth: { authorization: `Bearer ${accessToken}` } };
    };
    const manager = await signIn("manager@demo.horizon.example");
    const resident = await signIn("noa@demo.horizon.example");
    const room = (token: string) => `ws://127.0.0.1:${port}/parties/building/${buildingId}?token=${token}`;

    const phone = await openRoom(room(await roomToken(base, resident, buildingId, "phone")));
    await phone.next("welcome");
    const desk = await openRoom(room(await roomToken(base, manager, buildingId, "desk")));
    const joined = await phone.next("presence.join", (f) => f.member.deviceId === "desk");
    expect(joined.member.role).toBe("manager");

    const posted = await fetch(`${base}/api/v1/buildings/${buildingId}/announcements`, {
      method: "POST",
      headers: { ...manager.auth, "content-type": "application/json" },
      body: JSON.stringify({ title: "Lift maintenance", body: "The lift is off on Sunday morning." }),
    });
    expect(posted.status).toBe(201);
    const poke = await phone.next("poke");
    expect(poke.buildingId).toBe(buildingId);
    expect(poke.version).toBeGreaterThan(0);

    // A forged token is refused before the socket is accepted.
    await expect(openRoom(room("not-a-token"))).rejects.toThrow();
    desk.close();
    phone.close();
  });

  it("refuses to start on a bad variable and names it", async () => {
    const bad = run({ PORT: "not-a-port", DATA_DIR: dataDir });
    const code = await new Promise<number | null>((resolve) => bad.child.on("exit", resolve));
    expect(code).not.toBe(0);
    expect(bad.output()).toMatch(/PORT/);
  });
});
