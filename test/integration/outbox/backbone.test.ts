/**
 * The current writers on the backbone, through the real app with the in-process queue running as
 * on the standalone host: a poke whose publish after commit failed reaches the room through the
 * queue; a sync push's conflict is a `sync.conflict` event delivered to the building room; and the
 * request's correlation id travels from the REST write to the outbox row and the handler's log;
 * a sync batch's domain events reach a subscriber through their fan-out row.
 */
import { randomUUID } from "node:crypto";
import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outbox } from "../../../src/db/schema";
import { FANOUT_TOPIC, subscribeToDomainEvents } from "../../../src/modules/events";
import { outboxHandlers } from "../../../src/modules/outbox/registry";
import { queryRows } from "../../../src/platform/db";
import type { InProcessQueue } from "../../../src/platform/queue/in-process";
import type { BusEnvelope, RealtimeBus } from "../../../src/platform/realtime";
import { createMemoryBus } from "../../../src/platform/realtime/memory";
import { DomainEventPayloadSchema, envelopesOf, parseDomainEvent } from "../../../src/protocol/events";
import { startInProcessQueue } from "../../../workers/outbox-queue";
import { createTestApp, type TestApp } from "../../support/app";
import { DB_KINDS } from "../../support/db";
import { createBuilding, json } from "../../support/fixtures";
import { waitFor } from "../../support/wait";
import { announcementCreates, hlcAt, opId, push } from "../sync/helpers";

describe.each(DB_KINDS)("delivery backbone on %s", (kind) => {
  let t: TestApp;
  let queue: InProcessQueue;
  const bus = createMemoryBus();
  /** Publishes fail while > 0 (a room host that is down), then pass to the real bus. */
  let failures = 0;
  const flaky: RealtimeBus = {
    kind: "memory",
    async publish(message) {
      if (failures > 0) {
        failures--;
        throw new Error("room host unreachable");
      }
      await bus.publish(message);
    },
    subscribe: bus.subscribe!.bind(bus),
  };

  beforeAll(async () => {
    t = await createTestApp({ db: kind });
    t.services.realtime = flaky;
    queue = startInProcessQueue(t.services, { pollMs: 100 });
  });
  afterAll(async () => {
    await queue?.close();
    await t?.close();
  });

  function listen(buildingId: string) {
    const seen: BusEnvelope[] = [];
    const sub = bus.subscribe!(buildingId, (e) => seen.push(e));
    return { seen, stop: () => sub.unsubscribe() };
  }

  it("delivers a poke whose publish after commit failed through the queue, with the realtime policy", async () => {
    const b = await createBuilding(t.services);
    const room = listen(b.id);
    failures = 2; // the fast path after commit, then the queue's first attempt
    const res = await t.request(
      `/api/v1/buildings/${b.id}/apartments`,
      json({ number: "12", floor: 1 }, { ...b.manager.auth, "x-correlation-id": "corr-poke-1" }),
    );
    expect(res.status).toBe(201);
    const poke = await waitFor("the poke", () => room.seen.find((e) => e.message.type === "poke"));
    expect(poke.message).toMatchObject({ type: "poke", buildingId: b.id });
    const [row] = await t.services.database.db
      .select()
      .from(outbox)
      .where(and(eq(outbox.buildingId, b.id), eq(outbox.topic, "realtime.poke")));
    await waitFor(
      "dispatched",
      async () =>
        (await t.services.database.db.select().from(outbox).where(eq(outbox.id, row!.id)))[0]!.dispatchedAt,
    );
    const [settled] = await t.services.database.db.select().from(outbox).where(eq(outbox.id, row!.id));
    expect(settled).toMatchObject({
      topic: "realtime.poke",
      correlationId: "corr-poke-1",
      attempts: 2,
      deadAt: null,
    });
    expect(t.logs.find((l) => l.event === "outbox_retry" && l.outboxId === row!.id)).toMatchObject({
      correlationId: "corr-poke-1",
      err: expect.stringContaining("room host unreachable"),
    });
    room.stop();
  });

  it("delivers a sync push's conflict to the building room, following the request's correlation id", async () => {
    const b = await createBuilding(t.services);
    const id = randomUUID();
    const t0 = Date.now();
    const create = {
      opId: opId(),
      type: "create",
      entity: "announcements",
      id,
      fields: { buildingId: b.id, title: "A", body: "x" },
      hlc: hlcAt(t0, "m1"),
    };
    expect((await push(t, b.manager, [create], "m1")).status).toBe(200);
    await push(
      t,
      b.manager,
      [
        {
          opId: opId(),
          type: "update",
          entity: "announcements",
          id,
          fields: { title: "new" },
          hlc: hlcAt(t0 + 20, "m1"),
        },
      ],
      "m1",
    );
    const room = listen(b.id);
    // The older edit loses: one conflict, recorded with the request's correlation id.
    const res = await t.request(
      "/api/v1/sync/push",
      json(
        {
          deviceId: "m2",
          ops: [
            {
              opId: opId(),
              type: "update",
              entity: "announcements",
              id,
              fields: { title: "old" },
              hlc: hlcAt(t0 + 10, "m2"),
            },
          ],
        },
        { ...b.manager.auth, "x-correlation-id": "corr-conflict-1" },
      ),
    );
    expect(res.status).toBe(200);
    const event = await waitFor("the conflict event", () =>
      room.seen.find(
        (e) => e.message.type === "event" && (e.message.event as { kind: string }).kind === "sync.conflict",
      ),
    );
    expect(event.message.event).toMatchObject({
      kind: "sync.conflict",
      userId: b.manager.id,
      entity: "announcements",
    });
    const [row] = await t.services.database.db
      .select()
      .from(outbox)
      .where(and(eq(outbox.topic, "sync.conflict"), eq(outbox.buildingId, b.id)));
    expect(row).toMatchObject({ buildingId: b.id, correlationId: "corr-conflict-1" });
    await waitFor(
      "dispatched",
      async () =>
        (await t.services.database.db.select().from(outbox).where(eq(outbox.id, row!.id)))[0]!.dispatchedAt,
    );
    // The handler's delivery line carries the id the client sent with its write.
    expect(t.logs.find((l) => l.event === "outbox_delivered" && l.outboxId === row!.id)).toMatchObject({
      correlationId: "corr-conflict-1",
      topic: "sync.conflict",
    });
    room.stop();
  });

  it("compresses outbox payloads with lz4 where PostgreSQL has it (PGlite keeps pglz)", async () => {
    const [row] = await queryRows<{ compression: string }>(
      t.services.database.db,
      sql`select attcompression as compression from pg_attribute where attrelid = 'outbox'::regclass and attname = 'payload'`,
    );
    expect(row!.compression).toBe(kind === "pg" ? "l" : "");
  });

  it("fans a sync batch's domain events out to each subscriber after commit, in two hops, in order", async () => {
    const b = await createBuilding(t.services);
    const seen: Array<{ eventId: string; title: string; correlationId: string }> = [];
    const unsubscribe = subscribeToDomainEvents({
      topic: "test-backbone.events",
      types: ["announcement.published"],
    });
    const unregister = outboxHandlers.register("test-backbone.events", {
      payload: DomainEventPayloadSchema,
      async handle(payload, ctx) {
        for (const e of envelopesOf(payload).map(parseDomainEvent))
          seen.push({
            eventId: e.eventId,
            title: (e.data as { title: string }).title,
            correlationId: ctx.event.correlationId,
          });
      },
    });
    try {
      const ids = Array.from({ length: 3 }, () => randomUUID());
      const res = await t.request(
        "/api/v1/sync/push",
        json(
          { deviceId: "fan-1", ops: announcementCreates(b.id, ids, "fan-1", "Fan") },
          { ...b.manager.auth, "x-correlation-id": "corr-fanout-1" },
        ),
      );
      expect(res.status).toBe(200);
      await waitFor("the subscriber's three events", () => seen.length >= 3);
      expect(seen.map((e) => e.title)).toEqual(["Fan 0", "Fan 1", "Fan 2"]);
      expect(new Set(seen.map((e) => e.eventId)).size).toBe(3);
      expect(seen.every((e) => e.correlationId === "corr-fanout-1")).toBe(true);
      const [fanout, ...more] = await t.services.database.db
        .select()
        .from(outbox)
        .where(and(eq(outbox.topic, FANOUT_TOPIC), eq(outbox.buildingId, b.id)));
      expect(more).toEqual([]);
      expect(fanout).toMatchObject({ correlationId: "corr-fanout-1" });
      await waitFor(
        "the fan-out row dispatched",
        async () =>
          (await t.services.database.db.select().from(outbox).where(eq(outbox.id, fanout!.id)))[0]!
            .dispatchedAt,
      );
    } finally {
      unregister();
      unsubscribe();
    }
  });
});
