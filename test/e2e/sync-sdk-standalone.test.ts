/**
 * The sync SDK, as an app ships it (file store, global fetch), against the standalone host as
 * `npm start` runs it (Bun, PGlite in a fresh DATA_DIR, demo seed): the demo users edit offline,
 * sync, the host is killed (SIGKILL, after an acknowledged push and in the middle of one) and
 * started again on the same data, the apps restart too, and in the end every client equals the
 * server and every op the server acknowledged is there.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SyncClient } from "../../src/client/sync/client";
import { FileStore } from "../../src/client/sync/file-store";
import type { OpResult, PullResponse, PushOp, SyncEntity, SyncRow } from "../../src/protocol/sync";
import { freePort } from "../support/net";

const BUN = join(process.cwd(), "node_modules/.bin/bun");
const PASSWORD = "Horizon-Demo-2026!";
const ENTITIES: SyncEntity[] = ["announcements", "maintenance_requests", "request_comments", "apartments"];

interface Host {
  child: ChildProcess;
  output: () => string;
}

function startHost(port: number, dataDir: string): Host {
  const child = spawn(BUN, ["workers/standalone.ts"], {
    env: {
      ...process.env,
      PORT: String(port),
      DATA_DIR: dataDir,
      LOG_LEVEL: "warn",
      DATABASE_URL: "",
      REDIS_URL: "",
    },
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

async function waitReady(base: string, host: Host, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (host.child.exitCode !== null)
      throw new Error(`host exited with ${host.child.exitCode}: ${host.output()}`);
    try {
      // The banner (demo building id) follows the listen by one password check on a restart.
      if ((await fetch(`${base}/health/ready`)).ok && /Demo building/.test(host.output())) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no answer from ${base}`);
}

/** kill -9: no shutdown hook runs, whatever PGlite had not made durable is gone. */
async function killHard(host: Host): Promise<void> {
  if (host.child.exitCode !== null || host.child.signalCode !== null) return;
  const exited = new Promise((r) => host.child.once("exit", r));
  host.child.kill("SIGKILL");
  await exited;
}

describe("sync SDK against the standalone host under Bun", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "horizon-e2e-sync-"));
  const storeDir = mkdtempSync(join(tmpdir(), "horizon-e2e-sync-stores-"));
  let port: number;
  let base: string;
  let host: Host;
  let buildingId: string;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    port = await freePort();
    base = `http://127.0.0.1:${port}`;
    host = startHost(port, dataDir);
    await waitReady(base, host);
    buildingId = /Demo building {2}.* \(([0-9a-f-]{36})\)/.exec(host.output())![1]!;
    for (const email of ["manager@demo.horizon.example", "noa@demo.horizon.example"]) {
      const res = await fetch(`${base}/api/v1/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email, password: PASSWORD }),
      });
      expect(res.status).toBe(200);
      tokens[email] = ((await res.json()) as { accessToken: string }).accessToken;
    }
  }, 120_000);
  afterAll(async () => {
    if (host) await killHard(host);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(storeDir, { recursive: true, force: true });
  });

  it("offline edits sync, survive kill -9 of the host (after and during a push) and app restarts, and converge", async () => {
    /** Every op the server answered, first answer kept: what it acknowledged. */
    const answered = new Map<string, { op: PushOp; result: OpResult }>();
    let offline = false;
    /** Called once a push has left the app: the test may kill the host under it. */
    let onPushSent: (() => void) | null = null;
    const transport = (async (input: RequestInfo | URL, init?: RequestInit) => {
      if (offline) throw new TypeError("airplane mode");
      const pending = fetch(input, init);
      const isPush = String(input).endsWith("/sync/push");
      if (isPush) onPushSent?.();
      const res = await pending;
      if (isPush && res.ok) {
        const sent = JSON.parse(String(init!.body)) as { ops: PushOp[] };
        const { results } = (await res.clone().json()) as { results: OpResult[] };
        results.forEach((result, i) => {
          if (!answered.has(result.opId)) answered.set(result.opId, { op: sent.ops[i]!, result });
        });
      }
      return res;
    }) as typeof fetch;
    const errors: unknown[] = [];
    const open = async (email: string, device: string) => {
      const client = await SyncClient.open({
        baseUrl: `${base}/api/v1`,
        fetch: transport,
        token: () => tokens[email]!,
        store: new FileStore(join(storeDir, device)),
        buildings: [buildingId],
        deviceId: device,
        intervalMs: 0,
      });
      client.on("error", (e) => errors.push(e.error));
      client.on("rejected", (e) => errors.push(...e.ops.map((o) => new Error(`${o.reason}: ${o.op.opId}`))));
      return client;
    };

    let manager = await open("manager@demo.horizon.example", "dana-phone");
    let resident = await open("noa@demo.horizon.example", "noa-phone");
    await manager.syncNow();
    await resident.syncNow();
    const apartment = resident.list("apartments")[0]!;
    expect(apartment).toBeDefined();

    // 1. Offline: edits are queued, visible, and the failed sync says so.
    offline = true;
    const water = await manager.create("announcements", { buildingId, title: "Water off", body: "Tue 9-12" });
    const paint = await manager.create("announcements", { buildingId, title: "Painting", body: "Stairwell" });
    const leak = await resident.create("maintenance_requests", {
      buildingId,
      apartmentId: apartment.id,
      title: "Leak under the sink",
    });
    await expect(manager.syncNow()).rejects.toThrow("airplane mode");
    expect(manager.pending()).toBe(2);
    expect(manager.get("announcements", water)).toMatchObject({ title: "Water off" });
    offline = false;
    errors.length = 0;
    await manager.syncNow();
    await resident.syncNow();
    expect(manager.pending()).toBe(0);
    expect(resident.pending()).toBe(0);

    // 2. kill -9 right after the server acknowledged; the apps edit on while it is down.
    await killHard(host);
    await manager.update("announcements", water, { title: "Water off (moved to Wed)" });
    await manager.delete("announcements", paint);
    const comment = await resident.create("request_comments", {
      buildingId,
      requestId: leak,
      body: "Still dripping",
    });
    await expect(manager.syncNow()).rejects.toThrow();
    expect(errors.length).toBeGreaterThan(0);
    host = startHost(port, dataDir);
    await waitReady(base, host);
    // The apps restart as well: queue, stream and rows come back from their files.
    const streams = [manager.streamId, resident.streamId];
    await manager.store.close();
    await resident.store.close();
    manager = await open("manager@demo.horizon.example", "dana-phone");
    resident = await open("noa@demo.horizon.example", "noa-phone");
    expect([manager.streamId, resident.streamId]).toEqual(streams);
    expect(manager.pending()).toBe(2);
    expect(resident.pending()).toBe(1);
    errors.length = 0;
    await manager.syncNow();
    await resident.syncNow();

    // 3. kill -9 while a 60-op push is in flight: whether it landed or not, a retry after the
    // restart applies every op exactly once.
    const batch: string[] = [];
    for (let i = 0; i < 60; i++)
      batch.push(await manager.create("announcements", { buildingId, title: `Notice ${i}`, body: "batch" }));
    let killed: Promise<void> | undefined;
    onPushSent = () => {
      onPushSent = null;
      killed = new Promise((r) => setTimeout(r, 5)).then(() => killHard(host));
    };
    await manager.syncNow().catch(() => {});
    await killed;
    const landed = batch.filter((id) => [...answered.values()].some((a) => a.op.id === id)).length;
    // Which way the race went (answered before the kill, or not) varies; both must end the same.
    console.log(`kill during push: ${landed} of ${batch.length} ops answered before the kill`);
    host = startHost(port, dataDir);
    await waitReady(base, host);
    errors.length = 0;
    await manager.syncNow();
    await resident.syncNow();
    await manager.syncNow();
    expect(errors).toEqual([]);
    expect(manager.pending()).toBe(0);
    expect(resident.pending()).toBe(0);

    // 4. Convergence: each app equals a fresh snapshot of the server for its user.
    const snapshot = async (email: string) => {
      const rows: Partial<Record<SyncEntity, Record<string, SyncRow>>> = {};
      let cursors: Record<string, number | null> = { [buildingId]: null };
      for (let page = 0; page < 100; page++) {
        const res = await fetch(`${base}/api/v1/sync/pull`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${tokens[email]}` },
          body: JSON.stringify({ buildings: cursors }),
        });
        expect(res.status).toBe(200);
        const body = (await res.json()) as PullResponse;
        for (const [entity, ch] of Object.entries(body.changes)) {
          const bucket = rows[entity as SyncEntity] ?? {};
          rows[entity as SyncEntity] = bucket;
          for (const r of [...ch!.created, ...ch!.updated]) bucket[r.id] = r;
          for (const id of ch!.deleted) delete bucket[id];
        }
        cursors = { ...cursors, ...body.cursors };
        if (!body.hasMore) break;
      }
      return rows;
    };
    for (const [client, email] of [
      [manager, "manager@demo.horizon.example"],
      [resident, "noa@demo.horizon.example"],
    ] as const) {
      const server = await snapshot(email);
      for (const entity of ENTITIES) {
        const local = Object.fromEntries(client.list(entity).map((r) => [r.id, r]));
        expect(local, `${email} ${entity}`).toEqual(server[entity] ?? {});
      }
    }

    // 5. Nothing acknowledged is lost: every op answered applied is in the server's state.
    const server = await snapshot("manager@demo.horizon.example");
    const acknowledged = [...answered.values()].filter((a) => a.result.status === "applied");
    expect(acknowledged.length).toBe(3 + 3 + 60);
    // One writer per field here, so the last acknowledged value of each field is the server's.
    const expected = new Map<string, Record<string, unknown> | null>();
    for (const { op } of acknowledged) {
      const key = `${op.entity}:${op.id}`;
      if (op.type === "delete") expected.set(key, null);
      else expected.set(key, { ...(expected.get(key) ?? {}), ...op.fields });
    }
    for (const [key, fields] of expected) {
      const [entity, id] = key.split(":") as [SyncEntity, string];
      if (fields === null) expect(server[entity]?.[id], key).toBeUndefined();
      else expect(server[entity]?.[id], key).toMatchObject(fields);
    }
    expect(server.announcements?.[water]).toMatchObject({ title: "Water off (moved to Wed)" });
    expect(server.announcements?.[paint]).toBeUndefined();
    expect(server.request_comments?.[comment]).toMatchObject({ body: "Still dripping", requestId: leak });
    for (const id of batch) expect(server.announcements?.[id], id).toMatchObject({ body: "batch" });
    expect([...answered.values()].filter((a) => a.result.status !== "applied")).toEqual([]);
  }, 300_000);
});
