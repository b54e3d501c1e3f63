/**
 * Webhook delivery (issue 17), on a throwaway PostgreSQL database, through the job path as the
 * standalone host runs it: BENCH_WEBHOOK_EVENTS (default 200) domain events recorded in their
 * transactions, fanned out by `webhooks.dispatch` to BENCH_WEBHOOK_ENDPOINTS (default 10)
 * endpoints, each message delivered by `webhooks.deliver` (kv breaker check, SSRF check, Standard
 * Webhooks signing, pinned POST, attempt row, message row) to a receiver in another process that
 * answers 200. Figures, median over BENCH_WEBHOOK_ROUNDS (default 3) rounds after a warm-up:
 *  - deliveries per second per core: deliveries ÷ this process's CPU seconds from the first
 *    commit to the last message settled (PostgreSQL and the receiver are other processes) —
 *    target ≥ 1,000; beside it, in the same run, bare keep-alive POSTs of the same body to the same
 *    receiver per core (the HTTP floor) and the ratio;
 *  - signing cost per delivery (µs of CPU, 1 KB body, one secret and two during a rotation),
 *    beside node:crypto's createHmac over the same bytes.
 * Run alone: `npx tsx test/bench/webhooks.bench.ts`; in `npm run bench` as section `webhooks`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import http from "node:http";
import { fileURLToPath } from "node:url";
import { count, inArray, sql } from "drizzle-orm";
import { recordDomainEvent } from "../../src/modules/events";
import { generateSecret, signedHeaders } from "../../src/modules/webhooks/signing";
import { webhookEndpoints, webhookMessages } from "../../src/modules/webhooks/tables";
import { createPgDatabase } from "../../src/platform/db/pg";
import { createMemoryKv } from "../../src/platform/kv/memory";
import { createJsonLogger } from "../../src/platform/log/json";
import { inTransaction, type VerbContext } from "../../src/verbs";
import { assembleNodeServices } from "../../workers/node-services";
import { startInProcessQueue } from "../../workers/outbox-queue";
import { testConfig } from "../support/app";
import { createBuilding } from "../support/fixtures";
import { createScratchDatabase } from "../support/scratch-db";
import type { Figure } from "./figures";

const EVENTS = Number(process.env.BENCH_WEBHOOK_EVENTS ?? 200);
const ENDPOINTS = Number(process.env.BENCH_WEBHOOK_ENDPOINTS ?? 10);
const ROUNDS = Number(process.env.BENCH_WEBHOOK_ROUNDS ?? 3);
const SIGNS = Number(process.env.BENCH_WEBHOOK_SIGNS ?? 20_000);
const MIGRATIONS = fileURLToPath(new URL("../../drizzle", import.meta.url));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const cpuSeconds = (since: NodeJS.CpuUsage) => {
  const c = process.cpuUsage(since);
  return (c.user + c.system) / 1e6;
};

/** A node:http receiver answering 200 in a child process; resolves with its port. */
async function startReceiver(): Promise<{ port: number; child: ChildProcess }> {
  const code = `const s=require("node:http").createServer((q,r)=>{q.resume();q.on("end",()=>{r.writeHead(200,{"content-type":"text/plain"});r.end("ok")})});s.keepAliveTimeout=60000;s.listen(0,"127.0.0.1",()=>console.log(s.address().port))`;
  const child = spawn(process.execPath, ["-e", code], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once("data", (d: Buffer) => resolve(Number(String(d).trim())));
    child.once("exit", (c) => reject(new Error(`receiver exited ${c}`)));
  });
  return { port, child };
}

/** Bare keep-alive POSTs of `body` to the receiver, `n` at a time in flight: per CPU-second. */
async function barePosts(port: number, body: string, total: number): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const post = () =>
    new Promise<void>((resolve, reject) => {
      const req = http.request(
        {
          host: "127.0.0.1",
          port,
          method: "POST",
          path: "/bare",
          agent,
          headers: { "content-type": "application/json" },
        },
        (res) => {
          res.resume();
          res.on("end", resolve);
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  const cpu0 = process.cpuUsage();
  let sent = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (sent < total) {
        sent++;
        await post();
      }
    }),
  );
  const rate = total / cpuSeconds(cpu0);
  agent.destroy();
  return rate;
}

export async function benchWebhooks(): Promise<Figure[]> {
  const scratch = await createScratchDatabase({ migrated: true });
  const database = createPgDatabase({ url: scratch.url, max: 10 });
  await database.migrate(MIGRATIONS);
  const receiver = await startReceiver();
  const config = testConfig({
    RATE_LIMIT_ENABLED: "false",
    OUTBOX_POLL_MS: "1000",
    OUTBOUND_ALLOW_HOSTS: `127.0.0.1:${receiver.port}`,
    LOG_LEVEL: "warn",
  });
  const services = assembleNodeServices({
    config,
    database,
    kv: createMemoryKv(),
    logger: createJsonLogger({ level: "warn", sink: () => {} }),
    runtime: "node",
  });
  const queue = startInProcessQueue(services, { batch: 500 });
  try {
    const b = await createBuilding(services, "Webhook bench");
    const endpoints = await database.db
      .insert(webhookEndpoints)
      .values(
        Array.from({ length: ENDPOINTS }, (_, i) => ({
          buildingId: b.id,
          url: `http://127.0.0.1:${receiver.port}/hook-${i}`,
          eventTypes: ["maintenance.created"],
          secret: generateSecret(),
          createdBy: b.manager.id,
        })),
      )
      .returning({ id: webhookEndpoints.id });
    const ids = endpoints.map((e) => e.id);
    const ctx: VerbContext = {
      services,
      db: database.db,
      actor: { kind: "system", name: "bench" },
      membership: null,
      correlationId: "bench",
      ip: "127.0.0.1",
      userAgent: "bench",
      now: new Date(),
    };
    // One statement per poll (it runs in this process, so its CPU counts against the figure).
    const settled = async () => {
      const [row] = await database.db
        .select({
          n: count(),
          ok: sql<number>`count(*) filter (where ${webhookMessages.status} = 'succeeded')`,
        })
        .from(webhookMessages)
        .where(inArray(webhookMessages.endpointId, ids));
      return { total: Number(row?.n ?? 0), ok: Number(row?.ok ?? 0) };
    };
    const perCore: number[] = [];
    const perWall: number[] = [];
    let expected = 0;
    for (let r = 0; r <= ROUNDS; r++) {
      expected += EVENTS * ENDPOINTS;
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      for (let i = 0; i < EVENTS; i++) {
        await inTransaction(ctx, (tx) =>
          recordDomainEvent(tx.db, {
            type: "maintenance.created",
            buildingId: b.id,
            actorId: null,
            data: {
              requestId: crypto.randomUUID(),
              title: `Bench ${r}.${i}`,
              category: null,
              priority: "normal",
              requesterId: b.resident.id,
              apartmentId: b.apartments[0]!.id,
            },
          }),
        );
      }
      const deadline = Date.now() + 300_000;
      for (;;) {
        const s = await settled();
        if (s.ok >= expected) break;
        if (Date.now() > deadline) throw new Error(`round ${r}: ${s.ok} of ${expected} delivered`);
        await new Promise((res) => setTimeout(res, 100));
      }
      const cpu = cpuSeconds(cpu0);
      const wall = (performance.now() - t0) / 1000;
      if (r === 0) continue; // warm-up
      perCore.push((EVENTS * ENDPOINTS) / cpu);
      perWall.push((EVENTS * ENDPOINTS) / wall);
    }
    const body = JSON.stringify({
      type: "maintenance.created",
      timestamp: new Date().toISOString(),
      data: { x: "y".repeat(200) },
    });
    const bare = await barePosts(receiver.port, body, 4000);
    const signing = await signingCosts();
    const spread = (xs: number[]) => `${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))}`;
    const rate = median(perCore);
    return [
      {
        id: "W1",
        name: `webhook deliveries per CPU-second (${ENDPOINTS} endpoints × ${EVENTS} events, 200 receiver)`,
        value: rate,
        unit: "/s",
        min: 1_000,
        note: `median of ${ROUNDS} rounds (${spread(perCore)}); wall-clock ${Math.round(median(perWall))}/s; fan-out + delivery + attempt rows; this process's CPU, PostgreSQL's and the receiver's apart`,
      },
      {
        name: "bare keep-alive POSTs to the same receiver per CPU-second (same run)",
        value: bare,
        unit: "/s",
        note: "node:http, 32 in flight: the HTTP floor a delivery cannot beat",
      },
      {
        name: "webhook delivery / bare POST (CPU per request)",
        value: rate / bare,
        unit: "ratio",
        note: "informational",
      },
      {
        id: "W2",
        name: "Standard Webhooks signing per delivery (1 KB body, one secret)",
        value: signing.one,
        unit: "µs",
        note: `WebCrypto HMAC-SHA256 with a cached key; node:crypto createHmac over the same bytes ${signing.hmac.toFixed(1)} µs (same run)`,
      },
      {
        name: "signing during a rotation (two secrets)",
        value: signing.two,
        unit: "µs",
        note: "two signatures, space separated",
      },
    ];
  } finally {
    await queue.close();
    receiver.child.kill();
    await database.close();
    await scratch.drop();
  }
}

async function signingCosts(): Promise<{ one: number; two: number; hmac: number }> {
  const body = JSON.stringify({
    type: "maintenance.created",
    timestamp: new Date().toISOString(),
    data: { x: "y".repeat(960) },
  });
  const secrets = [generateSecret(), generateSecret()];
  const key = Buffer.from(secrets[0]!.slice("whsec_".length), "base64");
  const measure = async (fn: (i: number) => unknown): Promise<number> => {
    for (let i = 0; i < 2000; i++) await fn(i); // warm-up: JIT, the key cache
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < SIGNS; i++) await fn(i);
    return (cpuSeconds(cpu0) * 1e6) / SIGNS;
  };
  const ts = 1_700_000_000;
  return {
    one: await measure((i) =>
      signedHeaders({ id: `msg-${i}`, timestamp: ts + i, body, secrets: [secrets[0]!] }),
    ),
    two: await measure((i) => signedHeaders({ id: `msg-${i}`, timestamp: ts + i, body, secrets })),
    hmac: await measure((i) =>
      createHmac("sha256", key)
        .update(`msg-${i}.${ts + i}.${body}`)
        .digest("base64"),
    ),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  benchWebhooks().then(
    (figures) => {
      for (const f of figures) console.log(`${f.name}: ${f.value?.toFixed(2)} ${f.unit}  (${f.note})`);
      process.exit(0);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
