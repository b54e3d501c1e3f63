/**
 * @upstash/qstash on the edge runtime: the QStash transport publishes from inside workerd
 * (`wrangler dev`) to the QStash stand-in, and the real Receiver inside workerd verifies the
 * stand-in's signed callback, and refuses one signed for another URL.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stopGroup } from "../../e2e/wrangler";
import { freePort } from "../../support/net";
import { type QStashStandin, startQStashStandin } from "../../support/qstash-standin";

const ROOT = join(import.meta.dirname, "../../..");
const CONFIG = join(import.meta.dirname, "workerd/wrangler.toml");

interface Seen {
  verified: boolean;
  error?: string;
  body: string;
  correlationId: string | null;
}

describe("QStash transport and Receiver inside workerd", () => {
  let standin: QStashStandin;
  let child: ChildProcess;
  let dir: string;
  let url: string;
  let out = "";

  beforeAll(async () => {
    standin = await startQStashStandin();
    dir = await mkdtemp(join(tmpdir(), "horizon-qstash-workerd-"));
    const envFile = join(dir, "worker.env");
    const vars = {
      QSTASH_URL: standin.url,
      QSTASH_TOKEN: standin.token,
      QSTASH_CURRENT_SIGNING_KEY: standin.currentSigningKey,
      QSTASH_NEXT_SIGNING_KEY: standin.nextSigningKey,
    };
    await writeFile(
      envFile,
      Object.entries(vars)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}\n`)
        .join(""),
    );
    const [port, inspector] = [await freePort(), await freePort()];
    url = `http://127.0.0.1:${port}`;
    child = spawn(
      join(ROOT, "node_modules/.bin/wrangler"),
      [
        "dev",
        "--config",
        CONFIG,
        "--ip",
        "127.0.0.1",
        "--port",
        String(port),
        "--inspector-port",
        String(inspector),
        "--env-file",
        envFile,
        "--persist-to",
        join(dir, "state"),
        "--show-interactive-dev-session=false",
      ],
      {
        cwd: ROOT,
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" },
      },
    );
    child.stdout!.on("data", (d) => {
      out += d;
    });
    child.stderr!.on("data", (d) => {
      out += d;
    });
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`wrangler dev exited:\n${out}`);
      const ok = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5_000) })
        .then((r) => r.ok)
        .catch(() => false);
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`wrangler dev did not answer:\n${out}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }, 120_000);
  afterAll(async () => {
    if (child) await stopGroup(child);
    await standin?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("publishes from workerd, and the Receiver in workerd verifies the signed callback", async () => {
    const id = crypto.randomUUID();
    const res = await fetch(`${url}/publish`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id, destination: `${url}/callback` }),
    });
    expect(res.status).toBe(200);
    const answer = (await res.json()) as { published: string[]; runtime: string };
    expect(answer.published).toEqual([id]);
    expect(answer.runtime).toBe("Cloudflare-Workers");
    await standin.idle();
    const seen = (await (await fetch(`${url}/seen`)).json()) as Seen[];
    const mine = seen.filter((s) => s.body.includes(id));
    expect(mine).toEqual([
      { verified: true, body: JSON.stringify({ id, topic: "probe.workerd" }), correlationId: "corr-workerd" },
    ]);
    const [msg] = [...standin.messages.values()].filter((m) => m.body.toString().includes(id));
    expect(msg!.publishHeaders["upstash-deduplication-id"]).toMatch(new RegExp(`^${id}-\\d+$`));
  });

  it("and refuses a callback signed for another URL", async () => {
    const body = JSON.stringify({ id: "x", topic: "probe.workerd" });
    const res = await fetch(`${url}/callback`, {
      method: "POST",
      headers: { "upstash-signature": await standin.sign({ url: `${url}/elsewhere`, body }) },
      body,
    });
    expect(res.status).toBe(401);
    const seen = (await (await fetch(`${url}/seen`)).json()) as Seen[];
    expect(seen.at(-1)).toMatchObject({ verified: false, error: expect.stringMatching(/subject/) });
  });
});
