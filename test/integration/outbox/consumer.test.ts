/**
 * The outbox consumer beyond the queue contract: rows whose lease lapsed while slower handlers
 * ahead of them ran are handed back, not run under someone else's claim; retry policies are the
 * seed's table; a handler logs with the event's correlation id.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outbox } from "../../../src/db/schema";
import { createOutboxConsumer } from "../../../src/modules/outbox/consumer";
import { policyFor } from "../../../src/modules/outbox/policies";
import { recordEvents } from "../../../src/modules/outbox/record";
import { HandlerRegistry } from "../../../src/modules/outbox/registry";
import { retryDelayMs } from "../../../src/platform/queue";
import { createTestApp, type TestApp } from "../../support/app";
import { DB_KINDS } from "../../support/db";

describe("retry policies", () => {
  it("follow the seed for notifications, webhooks and files, by topic family", () => {
    expect(policyFor("notifications.push")).toEqual({ retries: 3, delaysMs: [1000, 2000, 4000] });
    expect(policyFor("webhooks.deliver")).toEqual({ retries: 5, delaysMs: [1000, 2000, 4000, 8000, 16000] });
    expect(policyFor("files.process")).toEqual({ retries: 2, delaysMs: [5000, 10000] });
    expect(policyFor("realtime.poke").retries).toBeGreaterThan(0);
    expect(policyFor("sync.conflict").retries).toBeGreaterThan(0);
    // Names that are properties of every object are topics like any other.
    expect(policyFor("constructor")).toEqual(policyFor("unknown.topic"));
    expect(policyFor("__proto__.x")).toEqual(policyFor("unknown.topic"));
  });

  it("repeat the last delay when retries outnumber delays", () => {
    const p = { retries: 4, delaysMs: [10, 20] };
    expect([1, 2, 3, 4].map((n) => retryDelayMs(p, n))).toEqual([10, 20, 20, 20]);
    expect(retryDelayMs({ retries: 1, delaysMs: [] }, 1)).toBe(0);
  });
});

describe.each(DB_KINDS)("outbox consumer on %s", (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ db: kind });
  });
  afterAll(() => t.close());

  const row = async (id: string) =>
    (await t.services.database.db.select().from(outbox).where(eq(outbox.id, id)))[0]!;

  it("hands back a claimed row whose lease lapsed before its turn, and runs it once later", async () => {
    const registry = new HandlerRegistry();
    const runs: string[] = [];
    registry.register("slow.one", {
      async handle(_p, ctx) {
        runs.push(ctx.event.id);
        await new Promise((r) => setTimeout(r, 400));
      },
    });
    const [a, b] = await recordEvents(t.services.database.db, [
      { topic: "slow.one", payload: {}, availableAt: new Date(Date.now() - 2000) },
      { topic: "slow.one", payload: {}, availableAt: new Date(Date.now() - 1000) },
    ]);
    const consumer = createOutboxConsumer(t.services, { registry, leaseMs: 200 });
    expect(await consumer.drainDue({ limit: 10 })).toBe(2);
    expect(runs).toEqual([a!.id]);
    const handedBack = await row(b!.id);
    expect(handedBack).toMatchObject({ claimedUntil: null, attempts: 0, dispatchedAt: null, deadAt: null });
    expect(await consumer.drainDue({ limit: 10 })).toBe(1);
    expect(runs).toEqual([a!.id, b!.id]);
    expect(await row(b!.id)).toMatchObject({ attempts: 1, claimedUntil: null });
    expect((await row(b!.id)).dispatchedAt).not.toBeNull();
  });

  it("runs a handler with the event's correlation id in its log lines and a system actor", async () => {
    const registry = new HandlerRegistry();
    let seen: unknown;
    registry.register("log.one", {
      async handle(_p, ctx) {
        seen = { job: ctx.job, actor: ctx.actor, correlationId: ctx.correlationId };
        ctx.services.logger.info({ event: "handler_ran" }, "handler ran");
      },
    });
    const [e] = await recordEvents(t.services.database.db, [
      { topic: "log.one", payload: {}, correlationId: "corr-log-1" },
    ]);
    const consumer = createOutboxConsumer(t.services, { registry });
    expect(await consumer.deliver(e!.id)).toEqual({ status: "ok" });
    expect(seen).toEqual({
      job: { kind: "system", name: "outbox-dispatcher" },
      actor: { kind: "system", name: "outbox-dispatcher" },
      correlationId: "corr-log-1",
    });
    expect(t.logs.find((l) => l.event === "handler_ran")).toMatchObject({ correlationId: "corr-log-1" });
    expect(await consumer.deliver("not-an-id")).toEqual({ status: "missing" });
    expect(await consumer.deliver("00000000-0000-4000-8000-000000000000")).toEqual({ status: "missing" });
  });
});
