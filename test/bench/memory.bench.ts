/**
 * Memory: the standalone host (`npm start`: Bun, PGlite in a fresh DATA_DIR) under BENCH_MEMORY_SECONDS
 * (default 60) of mixed load, 8 clients: liveness and readiness probes, the OpenAPI document,
 * authenticated reads (/me, the buildings list), failed logins (an argon2id verify each) and
 * registrations (a write and a hash each, every 25th request). RSS (VmRSS of the Bun process)
 * is sampled every 5 s: the figures are RSS after start, at the end, and the growth over the
 * second half (a leak keeps growing; caches and PGlite's buffers level off).
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Figure } from "./figures";
import { startStandalone } from "./standalone-host";

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

export async function benchMemory(): Promise<Figure[]> {
  const seconds = Number(process.env.BENCH_MEMORY_SECONDS ?? 60);
  const dir = await mkdtemp(join(tmpdir(), "horizon-memory-"));
  const host = await startStandalone(join(dir, "data"), { SEED_DEMO: "false", RATE_LIMIT_ENABLED: "false" });
  try {
    const pid = host.child.pid!;
    const json = { "content-type": "application/json" };
    const password = "Memory-bench correct horse 42!";
    const reg = await fetch(`${host.url}/api/v1/auth/register`, {
      method: "POST",
      headers: json,
      body: JSON.stringify({ email: "memory@bench.local", password, name: "Memory Bench" }),
    });
    if (reg.status !== 201) throw new Error(`register answered ${reg.status}: ${await reg.text()}`);
    const login = await fetch(`${host.url}/api/v1/auth/login`, {
      method: "POST",
      headers: json,
      body: JSON.stringify({ email: "memory@bench.local", password }),
    });
    const { accessToken } = (await login.json()) as { accessToken: string };
    const auth = { authorization: `Bearer ${accessToken}` };
    const startRss = await rssMiB(pid);
    let n = 0;
    let requests = 0;
    const statuses = new Map<number, number>();
    const one = async () => {
      const i = n++;
      const pick = i % 25;
      let res: Response;
      if (pick === 0)
        res = await fetch(`${host.url}/api/v1/auth/register`, {
          method: "POST",
          headers: json,
          body: JSON.stringify({ email: `m${i}@bench.local`, password, name: `Resident ${i}` }),
        });
      else if (pick === 1)
        res = await fetch(`${host.url}/api/v1/auth/login`, {
          method: "POST",
          headers: json,
          body: JSON.stringify({ email: "memory@bench.local", password: "wrong password 123456" }),
        });
      else if (pick === 2) res = await fetch(`${host.url}/openapi.json`);
      else if (pick === 3) res = await fetch(`${host.url}/health/ready`);
      else if (pick % 3 === 0) res = await fetch(`${host.url}/api/v1/me`, { headers: auth });
      else if (pick % 3 === 1) res = await fetch(`${host.url}/api/v1/buildings`, { headers: auth });
      else res = await fetch(`${host.url}/health`);
      await res.arrayBuffer();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      requests++;
    };
    const end = Date.now() + seconds * 1000;
    const samples: Array<{ t: number; rss: number }> = [];
    const sampler = (async () => {
      while (Date.now() < end) {
        await sleep(5000);
        samples.push({ t: seconds - (end - Date.now()) / 1000, rss: await rssMiB(pid) });
      }
    })();
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (Date.now() < end) await one();
      }),
    );
    await sampler;
    const endRss = await rssMiB(pid);
    const half = samples.filter((s) => s.t >= seconds / 2);
    const growth = half.length > 1 ? half[half.length - 1]!.rss - half[0]!.rss : 0;
    const codes = [...statuses].map(([k, v]) => `${k}×${v}`).join(" ");
    return [
      { id: "Memory", name: "standalone RSS after start (PGlite, Bun)", value: startRss, unit: "MiB" },
      {
        id: "Memory",
        name: `standalone RSS after ${seconds} s of mixed load`,
        value: endRss,
        unit: "MiB",
        note: `${requests} requests (${codes}); samples ${samples.map((s) => s.rss.toFixed(0)).join(" ")} MiB`,
      },
      { id: "Memory", name: "RSS growth over the second half", value: growth, unit: "MiB" },
    ];
  } finally {
    await host.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
