/**
 * The queue port's contract (src/platform/queue), run against every transport on PGlite and
 * PostgreSQL: at-least-once delivery of committed events, duplicates collapse (by outbox id and
 * by idempotency key), delays honoured, retries on the policy's backoff, dead after the last
 * attempt (and at once for an unknown topic or a poison payload, without holding up the rest),
 * replay delivers again, and a consumer killed with SIGKILL inside a handler loses nothing.
 * Policies are short ones passed to the consumer, so backoffs take milliseconds.
 *
 * A transport joins by adding an entry to ADAPTERS (below): `start` wires it on the services (setting
 * `services.queue`) with the given registry, policies and lease; `spawnConsumer` (optional,
 * PostgreSQL only) runs its consumer in another process for the SIGKILL case. A case an adapter
 * cannot run is not registered for it (never `skip`), and says where that adapter proves it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { apartments, outbox } from "../../src/db/schema";
import { replayEvent } from "../../src/modules/outbox/admin";
import { createOutboxConsumer } from "../../src/modules/outbox/consumer";
import {
  enqueueAfterCommit,
  type NewEvent,
  recordEvent,
  writeWithEvent,
} from "../../src/modules/outbox/record";
import { HandlerRegistry, type OutboxHandler } from "../../src/modules/outbox/registry";
import { queryRows } from "../../src/platform/db";
import type { QueueTransport, RetryPolicy } from "../../src/platform/queue";
import type { Services } from "../../src/services";
import type { VerbContext } from "../../src/verbs";
import { startInProcessQueue } from "../../workers/outbox-queue";
import { startQStashHarness } from "../integration/queue-qstash/harness";
import { createTestApp, type TestApp } from "../support/app";
import { createTestDatabase, DB_KINDS, type DbKind } from "../support/db";
import { pgUrlFor } from "../support/env";
import { createBuilding } from "../support/fixtures";
import { waitFor } from "../support/wait";

interface QueueHarness {
  transport: QueueTransport;
  close(): Promise<void>;
}

interface QueueAdapterCase {
  name: string;
  start(
    services: Services,
    options: { registry: HandlerRegistry; policies: (topic: string) => RetryPolicy; leaseMs: number },
  ): Promise<QueueHarness>;
  /**
   * Runs this transport's consumer in a child process on `databaseUrl` with one handler for
   * `topic` that prints `started <id> <attempt>`, then hangs (`hang`) or prints `delivered …`
   * and exits (`ok`).
   */
  spawnConsumer?(env: {
    databaseUrl: string;
    topic: string;
    mode: "hang" | "ok";
    leaseMs: number;
  }): ChildProcess;
}

const ROOT = join(import.meta.dirname, "../..");
const BUN = join(ROOT, "node_modules/.bin/bun");

const ADAPTERS: QueueAdapterCase[] = [
  {
    name: "in-process",
    async start(services, options) {
      const transport = startInProcessQueue(services, { ...options, pollMs: 200 });
      return { transport, close: () => transport.close() };
    },
    spawnConsumer: ({ databaseUrl, topic, mode, leaseMs }) =>
      spawn(BUN, [join(ROOT, "test/integration/outbox/dispatcher-child.ts")], {
        cwd: ROOT,
        env: {
          ...process.env,
          CHILD_DATABASE_URL: databaseUrl,
          CHILD_TOPIC: topic,
          CHILD_MODE: mode,
          CHILD_LEASE_MS: String(leaseMs),
        },
        stdio: ["ignore", "pipe", "pipe"],
      }),
  },
  {
    // Published through the real @upstash/qstash Client to the QStash stand-in, which calls the
    // job service's consumer routes with signed callbacks (test/integration/queue-qstash). Its
    // SIGKILL case is test/e2e/jobs.test.ts: the consumer there is a Bun process.
    name: "qstash",
    async start(services, options) {
      const h = await startQStashHarness(services, options);
      return { transport: h.transport, close: () => h.close() };
    },
  },
];

const LEASE_MS = 1500;
/** Topic → policy for this suite: short delays; `contract.backoff.*` spaced enough to measure. */
const POLICIES = (topic: string): RetryPolicy =>
  topic.startsWith("contract.backoff")
    ? { retries: 2, delaysMs: [150, 300] }
    : { retries: 2, delaysMs: [20, 40] };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let topicSeq = 0;
const topicName = (family: string) => `${family}.t${Date.now().toString(36)}${topicSeq++}`;

describe.each(ADAPTERS.flatMap((a) => DB_KINDS.map((kind) => [a.name, kind, a] as const)))(
  "queue contract: %s on %s",
  (_name, kind: DbKind, adapter) => {
    let t: TestApp;
    let harness: QueueHarness;
    const registry = new HandlerRegistry();

    beforeAll(async () => {
      t = await createTestApp({ db: kind });
      harness = await adapter.start(t.services, { registry, policies: POLICIES, leaseMs: LEASE_MS });
    });
    afterAll(async () => {
      await harness?.close();
      await t?.close();
    });

    /** Records events in one committed transaction, enqueued after commit as a write does. */
    async function commit(...events: NewEvent[]): Promise<string[]> {
      return enqueueAfterCommit(t.services, () =>
        t.services.database.db.transaction(async (tx) => {
          const ids: string[] = [];
          for (const e of events) ids.push((await recordEvent(tx, e)).id);
          return ids;
        }),
      );
    }

    const row = async (id: string) => {
      const [r] = await t.services.database.db.select().from(outbox).where(eq(outbox.id, id));
      return r!;
    };

    /** A handler that records each call; `fail(n)` decides whether call n (1-based) throws. */
    function recorder(topic: string, fail: (n: number) => boolean = () => false, payload?: z.ZodType) {
      const calls: Array<{
        id: string;
        attempt: number;
        at: number;
        payload: unknown;
        correlationId: string;
      }> = [];
      const handler: OutboxHandler = {
        ...(payload ? { payload } : {}),
        async handle(p, ctx) {
          calls.push({
            id: ctx.event.id,
            attempt: ctx.event.attempts,
            at: Date.now(),
            payload: p,
            correlationId: ctx.correlationId,
          });
          if (fail(calls.length)) throw new Error(`planned failure ${calls.length}`);
        },
      };
      registry.register(topic, handler);
      return calls;
    }

    it("delivers a committed event at least once, with its payload and correlation id, and marks it dispatched", async () => {
      const topic = topicName("contract");
      const calls = recorder(topic);
      const [id] = await commit({ topic, payload: { n: 1 }, correlationId: "corr-contract-1" });
      await waitFor("delivery", async () => (await row(id!)).dispatchedAt);
      expect(calls).toHaveLength(1);
      expect(calls[0]).toMatchObject({ id, attempt: 1, payload: { n: 1 }, correlationId: "corr-contract-1" });
    });

    it("delivers nothing of a transaction that rolled back", async () => {
      const topic = topicName("contract");
      const calls = recorder(topic);
      await expect(
        enqueueAfterCommit(t.services, () =>
          t.services.database.db.transaction(async (tx) => {
            await recordEvent(tx, { topic, payload: {} });
            throw new Error("roll back");
          }),
        ),
      ).rejects.toThrow("roll back");
      const [after] = await commit({ topic, payload: { marker: true } });
      await waitFor("the later event", async () => (await row(after!)).dispatchedAt);
      expect(calls.map((c) => c.id)).toEqual([after]);
      const [count] = await queryRows<{ n: number }>(
        t.services.database.db,
        sql`select count(*)::int as n from outbox where topic = ${topic}`,
      );
      expect(count!.n).toBe(1);
    });

    it("delivers an event written by the write's own statement (writeWithEvent) as one of its own, and nothing of it when the write rolls back", async () => {
      const topic = topicName("contract");
      const calls = recorder(topic);
      const building = await createBuilding(t.services);
      const write = (fail: boolean) =>
        enqueueAfterCommit(t.services, () =>
          t.services.database.db.transaction(async (tx) => {
            const id = crypto.randomUUID();
            const { eventId } = await writeWithEvent(
              tx,
              { topic, buildingId: building.id, payload: { apartmentId: id }, correlationId: "corr-merged" },
              (q) => q.insert(apartments).values({ id, buildingId: building.id, number: `m-${id}` }),
            );
            if (fail) throw new Error("roll back");
            return { id, eventId };
          }),
        );
      await expect(write(true)).rejects.toThrow("roll back");
      const { id, eventId } = await write(false);
      await waitFor("delivery", async () => (await row(eventId)).dispatchedAt);
      expect(calls).toEqual([
        expect.objectContaining({
          id: eventId,
          attempt: 1,
          payload: { apartmentId: id },
          correlationId: "corr-merged",
        }),
      ]);
      const [count] = await queryRows<{ events: number; apartments: number }>(
        t.services.database.db,
        sql`select (select count(*)::int from outbox where topic = ${topic}) as events,
          (select count(*)::int from apartments where building_id = ${building.id} and number like 'm-%') as apartments`,
      );
      expect(count).toEqual({ events: 1, apartments: 1 });
    });

    it("collapses duplicates: one idempotency key is one event, and an event enqueued or delivered twice runs once", async () => {
      const topic = topicName("contract");
      const calls = recorder(topic);
      const [a, b] = await commit(
        { topic, payload: { v: 1 }, idempotencyKey: "k-1" },
        { topic, payload: { v: 2 }, idempotencyKey: "k-1" },
      );
      const [c] = await commit({ topic, payload: { v: 3 }, idempotencyKey: "k-1" });
      expect(b).toBe(a);
      expect(c).toBe(a);
      await waitFor("delivery", async () => (await row(a!)).dispatchedAt);
      // The same event handed over again, and delivered by id concurrently: nothing runs twice.
      const ev = await row(a!);
      await harness.transport.enqueue([
        {
          id: ev.id,
          topic,
          buildingId: null,
          availableAt: ev.availableAt,
          correlationId: ev.correlationId,
          policy: POLICIES(topic),
        },
      ]);
      const consumer = createOutboxConsumer(t.services, { registry, policies: POLICIES, leaseMs: LEASE_MS });
      const outcomes = await Promise.all([consumer.deliver(a!), consumer.deliver(a!)]);
      expect(outcomes).toEqual([{ status: "ok" }, { status: "ok" }]);
      await sleep(100);
      expect(calls.map((x) => x.payload)).toEqual([{ v: 1 }]);

      // Two consumers racing for one fresh event: one runs it, the other is told to come back.
      const slowTopic = topicName("contract");
      let release!: () => void;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      let runs = 0;
      registry.register(slowTopic, {
        async handle() {
          runs++;
          await gate;
        },
      });
      const [d] = await t.services.database.db.transaction(async (tx) => [
        (await recordEvent(tx, { topic: slowTopic, payload: {} })).id,
      ]);
      const first = consumer.deliver(d!);
      await waitFor("the first claim", async () => (await row(d!)).claimedUntil);
      const second = await consumer.deliver(d!);
      expect(second.status).toBe("retry");
      release();
      expect(await first).toEqual({ status: "ok" });
      await sleep(100);
      expect(runs).toBe(1);
    });

    it("honours a delay: an event is not delivered before its availableAt", async () => {
      const topic = topicName("contract");
      const calls = recorder(topic);
      const availableAt = new Date(Date.now() + 400);
      const [id] = await commit({ topic, payload: {}, availableAt });
      await sleep(150);
      expect(calls).toHaveLength(0);
      await waitFor("delayed delivery", async () => (await row(id!)).dispatchedAt);
      expect(calls).toHaveLength(1);
      expect(calls[0]!.at).toBeGreaterThanOrEqual(availableAt.getTime());
    });

    it("retries a failing handler on the topic's backoff and delivers once it succeeds", async () => {
      const topic = topicName("contract.backoff");
      const calls = recorder(topic, (n) => n <= 2);
      const [id] = await commit({ topic, payload: {} });
      await waitFor("delivery after two failures", async () => (await row(id!)).dispatchedAt);
      expect(calls.map((c) => c.attempt)).toEqual([1, 2, 3]);
      const policy = POLICIES(topic);
      expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(policy.delaysMs[0]!);
      expect(calls[2]!.at - calls[1]!.at).toBeGreaterThanOrEqual(policy.delaysMs[1]!);
      const settled = await row(id!);
      expect(settled.attempts).toBe(3);
      expect(settled.deadAt).toBeNull();
    });

    it("marks an event dead with its last error after the last attempt, and a replay delivers it again", async () => {
      const topic = topicName("contract");
      let healthy = false;
      const calls = recorder(topic, () => !healthy);
      const [id] = await commit({ topic, payload: { x: 1 } });
      await waitFor("dead", async () => (await row(id!)).deadAt);
      const dead = await row(id!);
      expect(dead.attempts).toBe(1 + POLICIES(topic).retries);
      expect(dead.lastError).toContain("planned failure 3");
      expect(dead.dispatchedAt).toBeNull();
      await sleep(150);
      expect(calls).toHaveLength(3);

      healthy = true;
      const ctx: VerbContext = {
        services: t.services,
        db: t.services.database.db,
        actor: null,
        membership: null,
        correlationId: "contract-replay",
        ip: "",
        userAgent: "",
        now: t.services.clock.now(),
      };
      await replayEvent(ctx, id!);
      await waitFor("replayed delivery", async () => (await row(id!)).dispatchedAt);
      expect(calls).toHaveLength(4);
      expect(calls[3]!.attempt).toBe(1);
      expect((await row(id!)).deadAt).toBeNull();
    });

    it("sends an unknown topic and a poison payload dead at once, and the queue keeps moving", async () => {
      const unknown = topicName("contract");
      const poisonTopic = topicName("contract");
      const calls = recorder(poisonTopic, () => false, z.object({ n: z.number() }).strict());
      const [u, poison, good] = await commit(
        { topic: unknown, payload: {} },
        { topic: poisonTopic, payload: { n: "not a number" } },
        { topic: poisonTopic, payload: { n: 7 } },
      );
      await waitFor("the good one", async () => (await row(good!)).dispatchedAt);
      await waitFor("both dead", async () => (await row(u!)).deadAt && (await row(poison!)).deadAt);
      expect((await row(u!)).lastError).toMatch(/no handler registered/);
      expect((await row(u!)).attempts).toBe(1);
      expect((await row(poison!)).lastError).toMatch(/invalid payload/);
      expect((await row(poison!)).attempts).toBe(1);
      expect(calls.map((c) => c.payload)).toEqual([{ n: 7 }]);
    });

    // Registered only where it can run, so the suite never reports a skip: the case needs the
    // transport's consumer in another process (`spawnConsumer`) sharing a database with this one,
    // which PGlite (in this process's memory) cannot be. QStash's consumer is the Bun job service:
    // its SIGKILL case runs in test/e2e/jobs.test.ts; the in-process one's below, on PostgreSQL.
    const spawnConsumer = kind === "pg" ? adapter.spawnConsumer : undefined;
    if (spawnConsumer)
      it("loses nothing when the consumer is killed with SIGKILL inside a handler", async () => {
        const topic = topicName("contract.kill");
        // A database of its own: this file's dispatcher must not see the event, only the child's.
        const database = await createTestDatabase("pg");
        const children: ChildProcess[] = [];
        try {
          const [current] = await queryRows<{ db: string }>(
            database.db,
            sql`select current_database() as db`,
          );
          const databaseUrl = pgUrlFor(current!.db);
          const row = async (eventId: string) => {
            const [r] = await database.db.select().from(outbox).where(eq(outbox.id, eventId));
            return r!;
          };
          const [id] = await database.db.transaction(async (tx) => [
            (await recordEvent(tx, { topic, payload: { p: 1 } })).id,
          ]);

          const run = async (mode: "hang" | "ok") => {
            const child = spawnConsumer({ databaseUrl, topic, mode, leaseMs: 800 });
            children.push(child);
            let out = "";
            child.stdout!.on("data", (d) => {
              out += d;
            });
            child.stderr!.on("data", (d) => {
              out += d;
            });
            const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
            await waitFor(
              `the handler to start (${mode})`,
              () => out.includes(`started ${id}`) && out,
              60_000,
            );
            return { child, exited, output: () => out };
          };

          const first = await run("hang");
          expect(first.output()).toContain(`started ${id} 1`);
          first.child.kill("SIGKILL");
          await first.exited;
          const orphan = await row(id!);
          expect(orphan.dispatchedAt).toBeNull();
          expect(orphan.claimedUntil).not.toBeNull();

          // Restarted: once the dead consumer's claim lapses the event runs again, to the end.
          const second = await run("ok");
          expect(await second.exited).toBe(0);
          expect(second.output()).toContain(`delivered ${id} 2`);
          const settled = await row(id!);
          expect(settled.dispatchedAt).not.toBeNull();
          expect(settled.claimedUntil).toBeNull();
          expect(settled.attempts).toBe(2);
        } finally {
          for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
          await database.close();
        }
      }, 120_000);
  },
);
