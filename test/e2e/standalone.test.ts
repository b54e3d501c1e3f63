/**
 * The standalone host as `npm start` runs it: Bun, PGlite in a fresh DATA_DIR, migrations and
 * demo seed at start; and a bad variable stops it with a message naming the variable.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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

  it("refuses to start on a bad variable and names it", async () => {
    const bad = run({ PORT: "not-a-port", DATA_DIR: dataDir });
    const code = await new Promise<number | null>((resolve) => bad.child.on("exit", resolve));
    expect(code).not.toBe(0);
    expect(bad.output()).toMatch(/PORT/);
  });
});
