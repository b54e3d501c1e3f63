/**
 * The Bun job service (workers/jobs.ts) as a process of its own, against a scratch PostgreSQL
 * database: this test plays the edge API (records an outbox event, publishes it through the real
 * QStash client to the QStash stand-in), the stand-in calls the job service with signed
 * callbacks, the handler runs there and the row ends delivered. Also: a tampered callback is
 * refused; one correlation id runs from the write to the handler's log line in the other
 * process; and a job service killed with SIGKILL inside a handler loses nothing.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outbox } from "../../src/db/schema";
import { createOutboxConsumer } from "../../src/modules/outbox/consumer";
import { enqueueAfterCommit, recordEvent } from "../../src/modules/outbox/record";
import { qstashConsumerUrls } from "../../src/modules/outbox/routes/qstash-consume";
import type { Database } from "../../src/platform/db";
import { createPgDatabase } from "../../src/platform/db/pg";
import { createMemoryKv } from "../../src/platform/kv/memory";
import { createJsonLogger } from "../../src/platform/log/json";
import type { RetryPolicy } from "../../src/platform/queue";
import { createQStashQueue } from "../../src/platform/queue/qstash";
import type { Services } from "../../src/services";
import { assembleNodeServices } from "../../workers/node-services";
import { testConfig } from "../support/app";
import { freePort } from "../support/net";
import { type QStashStandin, startQStashStandin } from "../support/qstash-standin";
import { createScratchDatabase, type ScratchDatabase } from "../support/scratch-db";
import { type Probe, waitFor as waitWithin } from "../support/wait";

const ROOT = join(import.meta.dirname, "../..");
const BUN = join(ROOT, "node_modules/.bin/bun");
/** Retries (within QStash's limit of 5) spanning a Bun restart and the dead process's lease. */
const POLICY: RetryPolicy = { retries: 5, delaysMs: [1_000, 2_000, 3_000, 4_000, 5_000] };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Bun start-up and a restart after SIGKILL are slow on a loaded machine: a longer default wait. */
const waitFor = <T>(what: string, fn: Probe<T>, timeoutMs = 30_000) => waitWithin(what, fn, timeoutMs, 50);

interface JobsProcess {
  child: ChildProcess;
  base: string;
  output(): string;
  lines(): Array<Record<string, unknown>>;
  exited: Promise<number | null>;
}

describe("job service under Bun: QStash callbacks through the stand-in", () => {
  let scratch: ScratchDatabase;
  let standin: QStashStandin;
  let database: Database;
  let edge: Services;
  const children: ChildProcess[] = [];

  function startJobsProcess(port: number, env: Record<string, string> = {}): JobsProcess {
    const child = spawn(BUN, [join(ROOT, "test/e2e/jobs-probe.ts")], {
      cwd: ROOT,
      env: {
        ...process.env,
        PORT: String(port),
        DATABASE_URL: scratch.url,
        REDIS_URL: "",
        UPSTASH_REDIS_REST_URL: "",
        UPSTASH_REDIS_REST_TOKEN: "",
        LOG_LEVEL: "info",
        QSTASH_CURRENT_SIGNING_KEY: standin.currentSigningKey,
        QSTASH_NEXT_SIGNING_KEY: standin.nextSigningKey,
        QSTASH_CONSUMER_URL: `http://127.0.0.1:${port}`,
        OUTBOX_CLAIM_LEASE_MS: "500",
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let out = "";
    child.stdout!.on("data", (d) => {
      out += d;
    });
    child.stderr!.on("data", (d) => {
      out += d;
    });
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    return {
      child,
      base: `http://127.0.0.1:${port}`,
      output: () => out,
      lines: () =>
        out
          .split("\n")
          .filter((l) => l.startsWith("{"))
          .map((l) => JSON.parse(l) as Record<string, unknown>),
      exited,
    };
  }

  async function ready(jobs: JobsProcess) {
    await waitFor(
      `${jobs.base}/health`,
      async () => {
        if (jobs.child.exitCode !== null) throw new Error(`job service exited: ${jobs.output()}`);
        return fetch(`${jobs.base}/health`)
          .then((r) => r.ok)
          .catch(() => false);
      },
      60_000,
    );
  }

  /** The edge side: record in one transaction, publish after commit to `jobs`. */
  function publisherFor(base: string) {
    const urls = qstashConsumerUrls(testConfig({ QSTASH_CONSUMER_URL: base }));
    const consumer = createOutboxConsumer(edge);
    return createQStashQueue({
      token: standin.token,
      baseUrl: standin.url,
      deliverUrl: () => urls.deliver,
      failureUrl: () => urls.failed,
      markPublished: (ids) => consumer.markPublished(ids),
      logger: edge.logger,
    });
  }
  async function record(payload: unknown, correlationId: string, base: string): Promise<string> {
    const queue = publisherFor(base);
    edge.queue = {
      kind: "qstash",
      close: () => queue.close(),
      enqueue: (events) => queue.enqueue(events.map((e) => ({ ...e, policy: POLICY }))),
    };
    const [id] = await enqueueAfterCommit(edge, () =>
      database.db.transaction(async (tx) => [
        (await recordEvent(tx, { topic: "probe.echo", payload, correlationId })).id,
      ]),
    );
    return id!;
  }
  const row = async (id: string) => {
    const [r] = await database.db.select().from(outbox).where(eq(outbox.id, id));
    return r!;
  };

  beforeAll(async () => {
    scratch = await createScratchDatabase({ migrated: true });
    standin = await startQStashStandin();
    database = createPgDatabase({ url: scratch.url, max: 3 });
    edge = assembleNodeServices({
      config: testConfig(),
      database,
      kv: createMemoryKv(),
      logger: createJsonLogger({ level: "silent" }),
      runtime: "node",
    });
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    await standin?.close();
    await database?.close();
    await scratch?.drop();
  });

  describe("one job service", () => {
    let jobs: JobsProcess;
    beforeAll(async () => {
      jobs = startJobsProcess(await freePort());
      await ready(jobs);
    });
    afterAll(async () => {
      jobs?.child.kill("SIGTERM");
      await jobs?.exited;
    });

    it("answers /health on Bun and /health/ready", async () => {
      expect((await (await fetch(`${jobs.base}/health`)).json()).runtime).toBe("bun");
      expect((await fetch(`${jobs.base}/health/ready`)).status).toBe(200);
    });

    it("runs the handler of a published event and marks the row delivered; the correlation id reaches the handler's log line", async () => {
      const correlationId = `corr-e2e-${crypto.randomUUID()}`;
      const id = await record({ hello: "jobs" }, correlationId, jobs.base);
      await waitFor("delivery", async () => (await row(id)).dispatchedAt);
      const settled = await row(id);
      expect(settled.attempts).toBe(1);
      expect(settled.publishedAt).not.toBeNull();
      const handled = await waitFor("the handler's line", () =>
        jobs.lines().find((l) => l.event === "probe_handled" && l.outboxId === id),
      );
      expect(handled).toMatchObject({ correlationId, via: "qstash-consumer" });
      const delivery = jobs.lines().find((l) => l.event === "qstash_delivery" && l.outboxId === id);
      expect(delivery).toMatchObject({ correlationId, outcome: "ok", retried: 0 });
    });

    it("refuses a tampered callback with 401 problem+json and runs nothing", async () => {
      const [id] = await database.db.transaction(async (tx) => [
        (await recordEvent(tx, { topic: "probe.echo", payload: {} })).id,
      ]);
      const url = `${jobs.base}/queue/qstash/deliver`;
      const signed = JSON.stringify({ id: crypto.randomUUID(), topic: "probe.echo" });
      const res = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "upstash-signature": await standin.sign({ url, body: signed }),
        },
        body: JSON.stringify({ id, topic: "probe.echo" }),
      });
      expect(res.status).toBe(401);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
      expect((await res.json()).code).toBe("UNAUTHENTICATED");
      await sleep(200);
      expect((await row(id!)).attempts).toBe(0);
      expect(jobs.lines().some((l) => l.outboxId === id && l.event === "probe_started")).toBe(false);
    });
  });

  it("loses nothing when the job service is killed with SIGKILL inside a handler", async () => {
    const port = await freePort();
    const first = startJobsProcess(port, { PROBE_HANG: "1" });
    await ready(first);
    const id = await record({ hang: true }, "corr-kill", first.base);
    await waitFor("the handler to start", () =>
      first.lines().find((l) => l.event === "probe_started" && l.outboxId === id),
    );
    first.child.kill("SIGKILL");
    await first.exited;
    const orphan = await row(id);
    expect(orphan.dispatchedAt).toBeNull();
    expect(orphan.claimedUntil).not.toBeNull();

    // Restarted on the same URL: QStash's next retries reach it; once the lease lapses it runs.
    const second = startJobsProcess(port);
    await waitFor("redelivery after restart", async () => (await row(id)).dispatchedAt, 60_000);
    const settled = await row(id);
    expect(settled.attempts).toBe(2);
    expect(settled.deadAt).toBeNull();
    expect(second.lines().find((l) => l.event === "probe_handled" && l.outboxId === id)).toMatchObject({
      attempt: 2,
      correlationId: "corr-kill",
    });
    second.child.kill("SIGTERM");
    await second.exited;
  }, 120_000);
});
