/**
 * Realtime benchmarks on the standalone host over localhost (`BENCH_ONLY=realtime npm run bench`,
 * or alone: npx tsx test/bench/realtime.bench.ts):
 *  1. commit → poke received: p50 / p99 from the moment a transaction committed (the after-commit
 *     publish starts) to the poke arriving at a room member's socket. Targets p50 ≤ 5 ms, p99 ≤ 15 ms.
 *  2. a 1 KB broadcast to 1,000 sockets: deliveries per second. The receiving sockets live in a
 *     worker thread so the server's event loop (one core) is measured, not the clients. Target ≥ 30,000/s.
 */
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { publishBuildingEvent } from "../../src/modules/realtime";
import { signRoomToken } from "../../src/modules/realtime/token";
import { bumpBuildingVersion } from "../../src/modules/sync/version";
import type { RealtimeBus } from "../../src/platform/realtime";
import { inTransaction, type VerbContext } from "../../src/verbs";
import { serveStandalone } from "../../workers/standalone";
import { createTestApp } from "../support/app";
import { createBuilding } from "../support/fixtures";
import { type Figure, printFigureTable } from "./figures";

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

/** Commit → poke p50 / p99 (S4) and the 1 KB broadcast's deliveries per second. */
export async function benchRealtime(): Promise<Figure[]> {
  const figures: Figure[] = [];
  const t = await createTestApp({
    db: "pglite",
    env: { REALTIME_MAX_CONNECTIONS_PER_USER: "5000", LOG_LEVEL: "warn", REALTIME_MAX_FRAME_BYTES: "65536" },
  });
  // Instrument the bus: the after-commit publish starts right after COMMIT returns.
  const bus = t.services.realtime;
  let committedAt = 0;
  const timed: RealtimeBus = {
    ...bus,
    publish: (m) => {
      committedAt = performance.timeOrigin + performance.now();
      return bus.publish(m);
    },
  };
  t.services.realtime = timed;
  (t.services.realtime as { subscribe?: unknown }).subscribe = bus.subscribe;
  const server = await serveStandalone(t.services, 0);
  const b = await createBuilding(t.services);
  const secret = t.services.config.JWT_SECRET!;
  const token = async (deviceId: string) =>
    (
      await signRoomToken(
        { userId: b.resident.id, buildingId: b.id, role: "resident", deviceId, version: 0 },
        secret,
        new Date(),
        3600,
      )
    ).token;
  const url = async (deviceId: string) =>
    `ws://127.0.0.1:${server.port}/parties/building/${b.id}?token=${await token(deviceId)}`;

  // 1. commit → poke. The member's socket lives in a worker thread, so its receive handler is not
  // queued behind the server's own work; both threads read one clock (timeOrigin + now).
  const member = new Worker(
    `const { parentPort, workerData } = require("node:worker_threads");
     const ws = new (require("ws"))(workerData.url);
     ws.on("open", () => parentPort.postMessage({ open: true }));
     ws.on("message", (d) => { if (d.toString().startsWith('{"type":"poke"')) parentPort.postMessage({ at: performance.timeOrigin + performance.now() }); });`,
    { eval: true, workerData: { url: await url("bench") } },
  );
  await new Promise<void>((r) => member.once("message", () => r()));
  let onPoke: ((at: number) => void) | null = null;
  member.on("message", (m) => m.at && onPoke?.(m.at));
  const ctx: VerbContext = {
    services: t.services,
    db: t.services.database.db,
    actor: null,
    membership: null,
    correlationId: "bench",
    ip: "127.0.0.1",
    userAgent: "bench",
    now: new Date(),
  };
  const samples: number[] = [];
  for (let i = 0; i < 600; i++) {
    const received = new Promise<number>((r) => (onPoke = r));
    await inTransaction(ctx, (tx) => bumpBuildingVersion(tx.db, b.id));
    const at = await received;
    if (i >= 100) samples.push(at - committedAt); // first 100 warm up
  }
  await member.terminate();
  figures.push(
    {
      id: "S4",
      name: "commit → poke p50 (standalone, localhost)",
      value: pct(samples, 50),
      unit: "ms",
      max: 5,
    },
    { id: "S4", name: "commit → poke p99", value: pct(samples, 99), unit: "ms", max: 15 },
  );
  console.log(
    `commit → poke (standalone, localhost, n=${samples.length}): p50 ${pct(samples, 50).toFixed(3)} ms, p99 ${pct(samples, 99).toFixed(3)} ms, max ${Math.max(...samples).toFixed(3)} ms`,
  );

  // 2. 1 KB broadcast to 1,000 sockets
  const SOCKETS = 1000;
  const MESSAGES = 60;
  const urls = await Promise.all(Array.from({ length: SOCKETS }, (_, i) => url(`d${i}`)));
  const worker = new Worker(
    `const { parentPort, workerData } = require("node:worker_threads");
     const WebSocket = require("ws");
     let open = 0, got = 0;
     const want = workerData.urls.length * workerData.messages;
     for (const u of workerData.urls) {
       const ws = new WebSocket(u);
       ws.on("open", () => { if (++open === workerData.urls.length) parentPort.postMessage({ open }); });
       ws.on("message", (d) => { if (d.length > 900 && ++got === want) parentPort.postMessage({ done: true }); });
     }`,
    { eval: true, workerData: { urls, messages: MESSAGES } },
  );
  await new Promise<void>((r) => worker.on("message", (m) => m.open && r()));
  await new Promise((r) => setTimeout(r, 1500)); // joins and presence frames settle
  const title = "x".repeat(870);
  const event = {
    kind: "announcement.posted" as const,
    announcementId: crypto.randomUUID(),
    title,
    priority: "normal" as const,
    authorId: b.manager.id,
  };
  const done = new Promise<void>((r) => worker.on("message", (m) => m.done && r()));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < MESSAGES; i++) await publishBuildingEvent(t.services, b.id, event);
  const sentMs = performance.now() - t0;
  await done;
  const totalMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const frameBytes = JSON.stringify({
    type: "event",
    buildingId: b.id,
    event,
    at: new Date().toISOString(),
    seq: 1,
  }).length;
  const deliveries = SOCKETS * MESSAGES;
  console.log(
    `broadcast ${frameBytes} B × ${MESSAGES} to ${SOCKETS} sockets: ${Math.round(deliveries / (totalMs / 1000))} deliveries/s end to end (all received), ` +
      `${Math.round(deliveries / (sentMs / 1000))} deliveries/s handed to sockets, ${Math.round(deliveries / (cpuMs / 1000))} deliveries per server-CPU-second`,
  );
  figures.push({
    name: `1 KB room broadcast to ${SOCKETS} sockets, end to end`,
    value: deliveries / (totalMs / 1000),
    unit: "deliveries/s",
    min: 30_000,
    note: `${Math.round(deliveries / (cpuMs / 1000))} per server-CPU-second; receivers in a worker thread`,
  });
  await worker.terminate();
  await server.close();
  await t.close();
  return figures;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  benchRealtime().then(
    (figures) => {
      printFigureTable(figures.map((figure) => ({ section: "realtime", figure })));
      process.exit(0);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
