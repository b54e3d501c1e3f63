/**
 * Notification fan-out (issue 16): one announcement to a building of BENCH_NOTIFY_RECIPIENTS
 * (default 1,000) residents with one device each, through the job path as the standalone host runs
 * it — the manager's POST commits the announcement and its `notifications.domain` event, the
 * in-process queue runs the notifications handler (recipients, preferences, quiet hours, render
 * per locale in en and he; the first 50 recipients' inbox rows and push chunk at once, the rest by
 * a `notifications.rest` event: 1,000 inbox rows and six `notifications.push` chunk events in
 * all), then the push handler per chunk of up to 200 recipients (one device look-up, one log
 * insert and update, sends 32 at a time) against a counting provider standing in for FCM. On a
 * throwaway PostgreSQL database.
 *
 * Figures, per round (BENCH_NOTIFY_ROUNDS, default 5), median over rounds:
 *  - notifications rendered and handed to providers per second per core: recipients ÷ this
 *    process's CPU seconds from commit to the last provider send (PostgreSQL's own CPU is another
 *    process; the wall-clock rate is in the note) — target ≥ 2,000;
 *  - commit → first provider request, p50 over rounds — target ≤ 50 ms.
 * Run alone: `npx tsx test/bench/notifications.bench.ts`; in `npm run bench` as section `notifications`.
 */
import { fileURLToPath } from "node:url";
import { createApp } from "../../src/app";
import { memberships, pushDevices, users } from "../../src/db/schema";
import { createPgDatabase } from "../../src/platform/db/pg";
import { createMemoryKv } from "../../src/platform/kv/memory";
import { createJsonLogger } from "../../src/platform/log/json";
import { createPushService, type PushProvider } from "../../src/platform/push";
import { assembleNodeServices } from "../../workers/node-services";
import { startInProcessQueue } from "../../workers/outbox-queue";
import { testConfig } from "../support/app";
import { createBuilding } from "../support/fixtures";
import { createScratchDatabase } from "../support/scratch-db";
import type { Figure } from "./figures";

const RECIPIENTS = Number(process.env.BENCH_NOTIFY_RECIPIENTS ?? 1_000);
const ROUNDS = Number(process.env.BENCH_NOTIFY_ROUNDS ?? 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchNotifications(): Promise<Figure[]> {
  const scratch = await createScratchDatabase({ migrated: true });
  const database = createPgDatabase({ url: scratch.url, max: 10 });
  let round = {
    first: 0,
    decided: 0,
    decidedCpu: process.cpuUsage(),
    count: 0,
    target: 0,
    done: () => {},
  };
  const counting: PushProvider = {
    name: "fcm",
    async send() {
      if (round.count++ === 0) round.first = performance.now();
      if (round.count === round.target) round.done();
      return { messageId: `bench-${round.count}` };
    },
  };
  const config = testConfig({ RATE_LIMIT_ENABLED: "false", OUTBOX_POLL_MS: "1000" });
  const services = assembleNodeServices({
    config,
    database,
    kv: createMemoryKv(),
    logger: createJsonLogger({
      level: "info",
      sink: (line) => {
        if (line.includes('"notification_delivered"')) {
          round.decided = performance.now();
          round.decidedCpu = process.cpuUsage();
        }
      },
    }),
    runtime: "node",
    push: createPushService({ providers: { fcm: counting }, fallback: counting }),
  });
  const app = createApp(services);
  const queue = startInProcessQueue(services, { batch: 500 });
  try {
    const b = await createBuilding(services, "מגדלי הים");
    const db = database.db;
    const people = await db
      .insert(users)
      .values(
        Array.from({ length: RECIPIENTS }, (_, i) => ({
          email: `bench-${i}-${crypto.randomUUID()}@bench.horizon`,
          name: `Resident ${i}`,
          passwordHash: "!bench",
          locale: i % 2 ? "he" : "en",
          timezone: i % 2 ? "Asia/Jerusalem" : "Europe/London",
        })),
      )
      .returning({ id: users.id });
    await db
      .insert(memberships)
      .values(people.map((p) => ({ buildingId: b.id, userId: p.id, role: "resident" as const })));
    await db.insert(pushDevices).values(
      people.map((p, i) => ({
        userId: p.id,
        platform: "android" as const,
        provider: "fcm" as const,
        token: `bench-token-${i}-${p.id}`,
      })),
    );
    // The fixture's two residents get notified too (no device: nothing sent to them).
    const latencies: number[] = [];
    /**
     * Commit → the last recipient decided (inbox rows and push events committed): the end of the
     * `notifications.rest` step, which runs after the first push chunk was handled.
     */
    const decided: number[] = [];
    /**
     * Recipients decided and rendered per CPU-second of this process, from the POST to the rest
     * step's commit (so the first push chunk's handling, queued in between, is counted too).
     */
    const decidedPerCore: number[] = [];
    const perCore: number[] = [];
    const perWall: number[] = [];
    for (let r = 0; r <= ROUNDS; r++) {
      const finished = new Promise<void>((resolve) => {
        round = {
          first: 0,
          decided: 0,
          decidedCpu: process.cpuUsage(),
          count: 0,
          target: RECIPIENTS,
          done: resolve,
        };
      });
      const cpu0 = process.cpuUsage();
      const res = await app.request(`/api/v1/buildings/${b.id}/announcements`, {
        method: "POST",
        headers: { ...b.manager.auth, "content-type": "application/json" },
        body: JSON.stringify({ title: `Water off, round ${r}`, body: "10:00–12:00" }),
      });
      const committed = performance.now();
      if (res.status !== 201) throw new Error(`announcement: ${res.status} ${await res.text()}`);
      const timeout = new Promise<never>((_, reject) =>
        setTimeout(
          () => reject(new Error(`round ${r}: ${round.count} of ${RECIPIENTS} sent`)),
          180_000,
        ).unref(),
      );
      await Promise.race([finished, timeout]);
      const end = performance.now();
      const cpu = process.cpuUsage(cpu0);
      if (r === 0) continue; // warm-up: JIT, pools, caches
      latencies.push(Math.max(0, round.first - committed));
      decided.push(round.decided - committed);
      const d = {
        user: round.decidedCpu.user - cpu0.user,
        system: round.decidedCpu.system - cpu0.system,
      };
      decidedPerCore.push(RECIPIENTS / ((d.user + d.system) / 1e6));
      perCore.push(RECIPIENTS / ((cpu.user + cpu.system) / 1e6));
      perWall.push(RECIPIENTS / ((end - committed) / 1000));
    }
    const spread = (xs: number[]) => `${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))}`;
    return [
      {
        name: `notifications rendered and handed to providers per CPU-second (${RECIPIENTS} devices, en+he)`,
        value: median(perCore),
        unit: "/s",
        min: 2_000,
        note: `median of ${ROUNDS} rounds (${spread(perCore)}); wall-clock ${Math.round(median(perWall))}/s (${spread(perWall)}); this process's CPU, PostgreSQL's apart`,
      },
      {
        name: "commit → first provider request (p50)",
        value: median(latencies),
        unit: "ms",
        max: 50,
        note: `rounds ${latencies.map((x) => x.toFixed(1)).join(", ")} ms; in-process queue, PostgreSQL`,
      },
      {
        name: `commit → ${RECIPIENTS} recipients decided (inbox rows + push events committed, p50)`,
        value: median(decided),
        unit: "ms",
        note: `rounds ${decided.map((x) => x.toFixed(1)).join(", ")} ms: both deciding steps (first 50, then the rest after the first push chunk)`,
      },
      {
        name: "deciding half: recipients rendered and recorded (inbox + push event) per CPU-second",
        value: median(decidedPerCore),
        unit: "/s",
        note: `rounds ${decidedPerCore.map((x) => Math.round(x)).join(", ")}; CPU from the POST to the rest step's commit (the first push chunk's handling included)`,
      },
    ];
  } finally {
    await queue.close();
    await database.close();
    await scratch.drop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  benchNotifications().then(
    (figures) => {
      for (const f of figures) console.log(`${f.name}: ${f.value?.toFixed(1)} ${f.unit}  (${f.note})`);
      process.exit(0);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
