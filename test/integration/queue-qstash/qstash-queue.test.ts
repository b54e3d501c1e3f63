/**
 * The QStash transport end to end on PostgreSQL: a committed outbox event is published through
 * the real @upstash/qstash Client to the QStash stand-in, which calls the job service's consumer
 * route with signed callbacks; the row is settled by the same outbox consumer the in-process loop
 * uses. Also what the consumer must refuse (401, nothing run) and the correlation id's path from
 * the write to the handler's log line.
 */
import { eq } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outbox } from "../../../src/db/schema";
import { replayEvent } from "../../../src/modules/outbox/admin";
import { createOutboxConsumer } from "../../../src/modules/outbox/consumer";
import { enqueueAfterCommit, type NewEvent, recordEvent } from "../../../src/modules/outbox/record";
import { HandlerRegistry } from "../../../src/modules/outbox/registry";
import { QSTASH_DELIVER_PATH } from "../../../src/modules/outbox/routes/qstash-consume";
import { type RetryPolicy, retryDelayMs } from "../../../src/platform/queue";
import {
  createQStashQueue,
  deduplicationId,
  retryDelayExpression,
  sweepUnpublished,
} from "../../../src/platform/queue/qstash";
import type { VerbContext } from "../../../src/verbs";
import { createTestApp, type TestApp } from "../../support/app";
import { createBuilding, json } from "../../support/fixtures";
import { freePort } from "../../support/net";
import { compileRetryDelay } from "../../support/qstash-standin";
import { waitFor } from "../../support/wait";
import { hlcAt, opId } from "../sync/helpers";
import { type QStashHarness, startQStashHarness } from "./harness";

const POLICIES = (topic: string): RetryPolicy =>
  topic.startsWith("qs.once") ? { retries: 1, delaysMs: [50] } : { retries: 3, delaysMs: [100, 200, 400] };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let seq = 0;
const topicName = (family: string) => `${family}.t${Date.now().toString(36)}${seq++}`;

describe("QStash queue transport through the stand-in, on PostgreSQL", () => {
  let t: TestApp;
  let h: QStashHarness;
  const registry = new HandlerRegistry();

  beforeAll(async () => {
    t = await createTestApp({ db: "pg" });
    h = await startQStashHarness(t.services, { registry, policies: POLICIES, leaseMs: 1_000 });
  });
  afterAll(async () => {
    await h?.close();
    await t?.close();
  });

  const row = async (id: string) => {
    const [r] = await t.services.database.db.select().from(outbox).where(eq(outbox.id, id));
    return r!;
  };
  async function commit(...events: NewEvent[]): Promise<string[]> {
    return enqueueAfterCommit(t.services, () =>
      t.services.database.db.transaction(async (tx) => {
        const ids: string[] = [];
        for (const e of events) ids.push((await recordEvent(tx, e)).id);
        return ids;
      }),
    );
  }
  function recorder(topic: string, fail: (n: number) => boolean = () => false) {
    const calls: Array<{ id: string; attempt: number; at: number; correlationId: string; payload: unknown }> =
      [];
    registry.register(topic, {
      async handle(payload, ctx) {
        calls.push({
          id: ctx.event.id,
          attempt: ctx.event.attempts,
          at: Date.now(),
          correlationId: ctx.correlationId,
          payload,
        });
        ctx.services.logger.info({ event: "test_handler_ran", outboxId: ctx.event.id }, "handler ran");
        if (fail(calls.length)) throw new Error(`planned failure ${calls.length}`);
      },
    });
    return calls;
  }
  const messagesOf = (id: string) => [...h.standin.messages.values()].filter((m) => m.body.includes(id));

  it("publishes after commit with the dedup id, the topic's policy, the correlation id and the failure callback", async () => {
    const topic = topicName("qs");
    const calls = recorder(topic);
    const [id] = await commit({ topic, payload: { n: 1 }, correlationId: "corr-qs-1" });
    await waitFor("delivery", async () => (await row(id!)).dispatchedAt);
    const settled = await row(id!);
    expect(settled.publishedAt).not.toBeNull();
    expect(settled.attempts).toBe(1);
    expect(calls).toEqual([
      expect.objectContaining({ id, attempt: 1, correlationId: "corr-qs-1", payload: { n: 1 } }),
    ]);
    const [msg] = messagesOf(id!);
    const sent = msg!.publishHeaders;
    expect(sent["upstash-deduplication-id"]).toBe(deduplicationId(settled));
    expect(sent["upstash-retries"]).toBe("3");
    expect(sent["upstash-retry-delay"]).toBe(retryDelayExpression(POLICIES(topic)));
    expect(sent["upstash-forward-x-correlation-id"]).toBe("corr-qs-1");
    expect(sent["upstash-failure-callback"]).toBe(h.urls.failed);
    expect(sent["upstash-delay"]).toBeUndefined();
    expect(JSON.parse(msg!.body.toString())).toEqual({ id, topic });
  });

  it("collapses a republish of the same row into one message, and a second callback runs nothing", async () => {
    const topic = topicName("qs");
    const calls = recorder(topic);
    const [id] = await commit({ topic, payload: {} });
    await waitFor("delivery", async () => (await row(id!)).dispatchedAt);
    const r = await row(id!);
    await h.transport.enqueue([
      {
        id: r.id,
        topic,
        buildingId: null,
        availableAt: r.availableAt,
        correlationId: "",
        policy: POLICIES(topic),
      },
    ]);
    await h.standin.idle();
    expect(messagesOf(id!)).toHaveLength(1);
    // QStash delivers at least once: the same callback again (fresh JWT) answers ok and runs nothing.
    const body = JSON.stringify({ id, topic });
    const res = await fetch(h.urls.deliver, {
      method: "POST",
      headers: {
        "upstash-signature": await h.standin.sign({ url: h.urls.deliver, body }),
        "content-type": "application/json",
      },
      body,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id, status: "ok" });
    expect(calls).toHaveLength(1);
  });

  it("honours available_at: published with Upstash-Delay, not delivered before", async () => {
    const topic = topicName("qs");
    const calls = recorder(topic);
    const availableAt = new Date(Date.now() + 1_200);
    const [id] = await commit({ topic, payload: {}, availableAt });
    const msg = await waitFor("the publish", async () => messagesOf(id!)[0]);
    expect(msg.publishHeaders["upstash-delay"]).toMatch(/^[12]s$/);
    await waitFor("delayed delivery", async () => (await row(id!)).dispatchedAt);
    expect(calls[0]!.at).toBeGreaterThanOrEqual(availableAt.getTime());
  });

  it("retries a failing handler on the topic's schedule (5xx to QStash), then delivers", async () => {
    const topic = topicName("qs");
    const calls = recorder(topic, (n) => n <= 2);
    const [id] = await commit({ topic, payload: {} });
    await waitFor("delivery after two failures", async () => (await row(id!)).dispatchedAt);
    await h.standin.idle();
    const [msg] = messagesOf(id!);
    const tries = h.standin.attempts.filter((a) => a.messageId === msg!.messageId);
    expect(tries.map((a) => a.status)).toEqual([503, 503, 200]);
    expect(tries.map((a) => a.nextDelayMs)).toEqual([100, 200, undefined]);
    expect(calls.map((c) => c.attempt)).toEqual([1, 2, 3]);
    expect((await row(id!)).attempts).toBe(3);
  });

  it("a handler failing every attempt leaves the row dead with its error, and a replay delivers it again", async () => {
    const topic = topicName("qs.once");
    let healthy = false;
    const calls = recorder(topic, () => !healthy);
    const [id] = await commit({ topic, payload: {} });
    await waitFor("dead", async () => (await row(id!)).deadAt);
    expect((await row(id!)).lastError).toContain("planned failure 2");
    await h.standin.idle();
    // The consumer settled it (dead), so QStash was answered 2xx and stopped: no failure callback.
    expect(messagesOf(id!)[0]!.state).toBe("DELIVERED");

    healthy = true;
    const ctx: VerbContext = {
      services: t.services,
      db: t.services.database.db,
      actor: null,
      membership: null,
      correlationId: "qs-replay",
      ip: "",
      userAgent: "",
      now: t.services.clock.now(),
    };
    await replayEvent(ctx, id!);
    await waitFor("replayed delivery", async () => (await row(id!)).dispatchedAt);
    expect(messagesOf(id!)).toHaveLength(2);
    expect(calls.at(-1)!.attempt).toBe(1);
  });

  it("when QStash gives up (consumer unreachable), the failure callback marks the row dead", async () => {
    const topic = topicName("qs.once");
    const calls = recorder(topic);
    h.deliverTo.url = `http://127.0.0.1:${await freePort()}${QSTASH_DELIVER_PATH}`;
    let id: string;
    try {
      [id] = (await commit({ topic, payload: {}, correlationId: "corr-gave-up" })) as [string];
    } finally {
      h.deliverTo.url = h.urls.deliver;
    }
    await waitFor("dead by failure callback", async () => (await row(id)).deadAt);
    expect((await row(id)).lastError).toMatch(/QStash gave up after 2 attempt/);
    expect(calls).toHaveLength(0);
    const line = t.logs.find((l) => l.event === "qstash_failed" && l.outboxId === id);
    expect(line?.correlationId).toBe("corr-gave-up");
  });

  it("the cron sweep publishes what a failed publish left behind, once: a second sweep finds nothing", async () => {
    const topic = topicName("qs");
    const calls = recorder(topic);
    const consumer = createOutboxConsumer(h.jobs, { registry, policies: POLICIES });
    // QStash refuses the publish (a revoked token): the row commits, unpublished.
    const refused = createQStashQueue({
      token: "revoked-token",
      baseUrl: h.standin.url,
      deliverUrl: () => h.urls.deliver,
      failureUrl: () => h.urls.failed,
      markPublished: (ids) => consumer.markPublished(ids),
      logger: t.services.logger,
    });
    const transport = t.services.queue;
    t.services.queue = refused;
    let id: string;
    try {
      [id] = (await commit({ topic, payload: {}, correlationId: "corr-swept" })) as [string];
    } finally {
      t.services.queue = transport;
    }
    expect((await row(id)).publishedAt).toBeNull();
    expect(t.logs.some((l) => l.event === "qstash_publish_failed" && l.outboxId === id)).toBe(true);
    expect(messagesOf(id)).toHaveLength(0);

    // Not yet stale: left alone. Stale: published, delivered, and not swept again.
    expect(await sweepUnpublished(consumer, h.transport, { olderThanMs: 60_000 })).toBe(0);
    const swept = await sweepUnpublished(consumer, h.transport, { olderThanMs: 0 });
    expect(swept).toBeGreaterThanOrEqual(1);
    await waitFor("swept delivery", async () => (await row(id)).dispatchedAt);
    expect((await row(id)).publishedAt).not.toBeNull();
    expect(calls).toEqual([expect.objectContaining({ id, correlationId: "corr-swept" })]);
    const again = await consumer.stalePending({ olderThanMs: 0 });
    expect(again.map((e) => e.id)).not.toContain(id);
  });

  it("a callback arriving while the publisher still holds the row lock (markPublished) runs the handler rather than burning one of QStash's attempts", async () => {
    // QStash calls the consumer as soon as it accepts a publish with no delay, while the
    // publisher's markPublished UPDATE may still hold the row: a claim by id that skipped locked
    // rows answered 503 there, and with QStash's retries equal to the policy's, the event went
    // dead one handler attempt early (the flaky "2 attempts instead of 3").
    const topic = topicName("qs");
    const calls = recorder(topic);
    const [id] = await t.services.database.db.transaction(async (tx) => [
      (await recordEvent(tx, { topic, payload: {} })).id,
    ]);
    let held!: () => void;
    const lockHeld = new Promise<void>((r) => {
      held = r;
    });
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const publisher = t.services.database.db.transaction(async (tx) => {
      await tx.update(outbox).set({ publishedAt: new Date() }).where(eq(outbox.id, id!));
      held();
      await gate;
    });
    await lockHeld;
    const body = JSON.stringify({ id, topic });
    const answer = fetch(h.urls.deliver, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "upstash-signature": await h.standin.sign({ url: h.urls.deliver, body }),
      },
      body,
    });
    await sleep(150);
    release();
    await publisher;
    const res = await answer;
    expect(res.status).toBe(200);
    expect(calls.map((c) => c.attempt)).toEqual([1]);
    const settled = await row(id!);
    expect(settled.dispatchedAt).not.toBeNull();
    expect(settled.publishedAt).not.toBeNull();
  });

  describe("refuses what QStash did not sign for this URL and body: 401 problem+json, nothing run", () => {
    let id: string;
    let calls: unknown[];
    let body: string;
    beforeAll(async () => {
      const topic = topicName("qs");
      calls = recorder(topic);
      // Recorded outside enqueueAfterCommit: pending, never published.
      [id] = await t.services.database.db.transaction(async (tx) => [
        (await recordEvent(tx, { topic, payload: {} })).id,
      ]);
      body = JSON.stringify({ id, topic });
    });
    const post = (headers: Record<string, string>, payload = body, url = h.urls.deliver) =>
      fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: payload,
      });
    async function refused(res: Response) {
      expect(res.status).toBe(401);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
      const problem = await res.json();
      expect(problem.code).toBe("UNAUTHENTICATED");
      expect(problem.correlationId).toEqual(expect.any(String));
      expect(calls).toHaveLength(0);
      const r = await row(id);
      expect(r.attempts).toBe(0);
      expect(r.dispatchedAt).toBeNull();
    }
    const sign = (over: Partial<Parameters<QStashHarness["standin"]["sign"]>[0]> = {}) =>
      h.standin.sign({ url: h.urls.deliver, body, ...over });

    it("unsigned", async () => refused(await post({})));
    it("signed with a key that is neither current nor next", async () =>
      refused(await post({ "upstash-signature": await sign({ key: "not-our-signing-key-0123456789" }) })));
    it("signed for another URL", async () =>
      refused(await post({ "upstash-signature": await sign({ url: h.urls.failed }) })));
    it("valid signature, tampered body", async () => {
      const other = JSON.stringify({ id, topic: "other" });
      await refused(await post({ "upstash-signature": await sign() }, other));
    });
    it("expired", async () =>
      refused(await post({ "upstash-signature": await sign({ iat: Math.floor(Date.now() / 1000) - 400 }) })));
    it("garbage", async () => refused(await post({ "upstash-signature": "a.b.c" })));
    it("replayed: the same signed callback a second time", async () => {
      const otherTopic = topicName("qs");
      const otherCalls = recorder(otherTopic);
      const [otherId] = await t.services.database.db.transaction(async (tx) => [
        (await recordEvent(tx, { topic: otherTopic, payload: {} })).id,
      ]);
      const payload = JSON.stringify({ id: otherId, topic: otherTopic });
      const signature = await h.standin.sign({ url: h.urls.deliver, body: payload });
      expect((await post({ "upstash-signature": signature }, payload)).status).toBe(200);
      const again = await post({ "upstash-signature": signature }, payload);
      expect(again.status).toBe(401);
      expect((await again.json()).code).toBe("UNAUTHENTICATED");
      expect(otherCalls).toHaveLength(1);
    });
    it("and accepts the next signing key (after a rotation)", async () => {
      h.standin.signWith("next");
      try {
        expect(
          (await post({ "upstash-signature": await h.standin.sign({ url: h.urls.deliver, body }) })).status,
        ).toBe(200);
        expect(calls).toHaveLength(1);
      } finally {
        h.standin.signWith("current");
      }
    });
  });

  it("follows one correlation id from the write through the QStash hop to the handler's log line", async () => {
    const topic = topicName("qs");
    recorder(topic);
    const correlationId = `corr-${crypto.randomUUID()}`;
    const [id] = await commit({ topic, payload: {}, correlationId });
    await waitFor("delivery", async () => (await row(id!)).dispatchedAt);
    const [msg] = messagesOf(id!);
    expect(msg!.headers["x-correlation-id"]).toBe(correlationId);
    const lines = t.logs.filter((l) => l.correlationId === correlationId);
    const events = lines.map((l) => l.event);
    // The consumer's request log, its delivery line, and the handler's own line.
    expect(events).toEqual(expect.arrayContaining(["qstash_delivery", "test_handler_ran"]));
    expect(lines.find((l) => l.event === "qstash_delivery")).toMatchObject({ outboxId: id, outcome: "ok" });
  });

  it("follows a REST write's correlation id to the handler's log line: sync push → sync.conflict → QStash → consumer", async () => {
    const handled = recorder("sync.conflict");
    const b = await createBuilding(t.services);
    const correlationId = `corr-rest-${crypto.randomUUID()}`;
    const id = crypto.randomUUID();
    const now = Date.now();
    const push = (user: typeof b.manager, ops: unknown[], headers: Record<string, string> = {}) =>
      t.request("/api/v1/sync/push", json({ deviceId: "dev-q", ops }, { ...user.auth, ...headers }));
    const fields = { buildingId: b.id, title: "Lift", body: "Off on Sunday." };
    expect(
      (
        await push(b.manager, [
          { opId: opId(), type: "create", entity: "announcements", id, fields, hlc: hlcAt(now) },
        ])
      ).status,
    ).toBe(200);
    await push(b.manager, [
      { opId: opId(), type: "delete", entity: "announcements", id, hlc: hlcAt(now + 1) },
    ]);
    // An edit of the deleted row, from the REST client whose correlation id we follow: a conflict.
    const late = await push(
      b.manager,
      [
        {
          opId: opId(),
          type: "update",
          entity: "announcements",
          id,
          fields: { title: "Lift!" },
          hlc: hlcAt(now + 2),
        },
      ],
      { "X-Correlation-Id": correlationId },
    );
    expect(late.status).toBe(200);
    expect(late.headers.get("x-correlation-id")).toBe(correlationId);
    // Events a writer recorded without the after-commit hand-over reach QStash through the sweep.
    await sweepUnpublished(createOutboxConsumer(h.jobs, { registry, policies: POLICIES }), h.transport, {
      olderThanMs: 0,
    });
    const call = await waitFor("the conflict's handler", async () =>
      handled.find((c) => c.correlationId === correlationId),
    );
    expect(call.payload).toMatchObject({ rowId: id, entity: "announcements" });
    // The consumer route logs qstash_delivery once deliver() returns, i.e. just after the handler
    // ran: wait for the line rather than read the log at the instant the handler was seen.
    const wanted = ["access", "qstash_delivery", "test_handler_ran"];
    const lines = await waitFor("the consumer's log lines", () => {
      const events = t.logs.filter((l) => l.correlationId === correlationId).map((l) => l.event);
      return wanted.every((e) => events.includes(e)) && events;
    });
    expect(lines).toEqual(expect.arrayContaining(wanted));
  });

  it("Property: the Retry-Delay expression QStash evaluates gives the policy's delays", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 3_600_000 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 0, max: 10 }),
        fc.integer({ min: 0, max: 20 }),
        (delaysMs, retries, retried) => {
          const policy = { retries, delaysMs };
          expect(compileRetryDelay(retryDelayExpression(policy))(retried)).toBe(
            retryDelayMs(policy, retried + 1),
          );
        },
      ),
      { numRuns: 300 },
    );
    for (const policy of [
      { retries: 5, delaysMs: [1_000, 2_000, 4_000, 8_000, 16_000] },
      { retries: 2, delaysMs: [5_000, 10_000] },
      { retries: 3, delaysMs: [1_000, 1_000, 1_000] },
    ])
      for (let r = 0; r < 8; r++)
        expect(compileRetryDelay(retryDelayExpression(policy))(r)).toBe(retryDelayMs(policy, r + 1));
  });
});
