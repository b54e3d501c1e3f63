/**
 * Two instances claiming one outbox (issue 20 §6: two standalone replicas, or two job services,
 * on one PostgreSQL): every event runs exactly once between them, and a batch claim skips rows
 * another instance holds (FOR UPDATE SKIP LOCKED) instead of waiting behind its transaction.
 */
import { inArray } from "drizzle-orm";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outbox } from "../../../src/db/schema";
import { createOutboxConsumer } from "../../../src/modules/outbox/consumer";
import { recordEvents } from "../../../src/modules/outbox/record";
import { HandlerRegistry } from "../../../src/modules/outbox/registry";
import { createPgDatabase } from "../../../src/platform/db/pg";
import { createTestApp, type TestApp } from "../../support/app";
import { createScratchDatabase, type ScratchDatabase } from "../../support/scratch-db";

describe("two outbox consumers on one PostgreSQL", () => {
  let scratch: ScratchDatabase;
  let one: TestApp;
  let two: TestApp;
  beforeAll(async () => {
    scratch = await createScratchDatabase({ migrated: true });
    // Two services bundles, each with its own connection pool: two processes as far as PostgreSQL knows.
    one = await createTestApp({ database: createPgDatabase({ url: scratch.url, max: 4 }) });
    two = await createTestApp({ database: createPgDatabase({ url: scratch.url, max: 4 }) });
  });
  afterAll(async () => {
    await one?.services.database.close();
    await two?.services.database.close();
    await one?.close();
    await two?.close();
    await scratch?.drop();
  });

  it("run every event exactly once between them when both drain at once", async () => {
    const topic = `two.consumers.${Date.now()}`;
    const runs: Array<{ by: string; id: string }> = [];
    const consumerFor = (t: TestApp, by: string) => {
      const registry = new HandlerRegistry();
      registry.register(topic, {
        async handle(_payload, ctx) {
          runs.push({ by, id: ctx.event.id });
          await new Promise((r) => setImmediate(r));
        },
      });
      return createOutboxConsumer(t.services, { registry });
    };
    const events = await recordEvents(
      one.services.database.db,
      Array.from({ length: 300 }, (_, i) => ({
        topic,
        payload: { i },
        availableAt: new Date(Date.now() - 1000 + i),
      })),
    );
    const [a, b] = [consumerFor(one, "one"), consumerFor(two, "two")];
    const drain = async (c: typeof a) => {
      let claimed = 0;
      for (;;) {
        const n = await c.drainDue({ limit: 25 });
        if (n === 0) return claimed;
        claimed += n;
      }
    };
    const [claimedA, claimedB] = await Promise.all([drain(a), drain(b)]);
    expect(claimedA + claimedB).toBe(300);
    const ids = runs.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length); // nothing ran twice
    expect(new Set(ids)).toEqual(new Set(events.map((e) => e.id)));
    const rows = await one.services.database.db
      .select({ attempts: outbox.attempts, dispatchedAt: outbox.dispatchedAt })
      .from(outbox)
      .where(
        inArray(
          outbox.id,
          events.map((e) => e.id),
        ),
      );
    expect(rows.every((r) => r.attempts === 1 && r.dispatchedAt !== null)).toBe(true);
  });

  it("a batch claim skips rows another instance holds instead of waiting for it", async () => {
    const topic = `two.locked.${Date.now()}`;
    const ran: string[] = [];
    const registry = new HandlerRegistry();
    registry.register(topic, {
      async handle(_p, ctx) {
        ran.push(ctx.event.id);
      },
    });
    const events = await recordEvents(
      one.services.database.db,
      Array.from({ length: 10 }, (_, i) => ({
        topic,
        payload: { i },
        availableAt: new Date(Date.now() - 1000 + i),
      })),
    );
    // The other instance, mid-claim: its transaction holds the five oldest rows.
    const holder = new pg.Client({ connectionString: scratch.url });
    await holder.connect();
    try {
      await holder.query("begin");
      const held = await holder.query<{ id: string }>(
        "select id from outbox where topic = $1 order by available_at limit 5 for update",
        [topic],
      );
      expect(held.rowCount).toBe(5);
      const consumer = createOutboxConsumer(two.services, { registry });
      // Liveness, not timing: a claim that waits for the holder never settles before it is released.
      const outcome = await Promise.race([
        consumer.drainDue({ limit: 100 }),
        new Promise<"waited">((r) => setTimeout(() => r("waited"), 20_000)),
      ]);
      expect(outcome).toBe(5);
      expect(new Set(ran)).toEqual(new Set(events.slice(5).map((e) => e.id)));
      await holder.query("rollback");
      expect(await consumer.drainDue({ limit: 100 })).toBe(5);
      expect(new Set(ran)).toEqual(new Set(events.map((e) => e.id)));
    } finally {
      await holder.end();
    }
  }, 60_000);
});
