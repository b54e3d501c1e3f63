/**
 * The current writers on the backbone, through the real app with the in-process queue running as
 * on the standalone host: a poke whose publish after commit failed reaches the room through the
 * queue; a sync push's conflict is a `sync.conflict` event delivered to the building room; and the
 * request's correlation id travels from the REST write to the outbox row and the handler's log.
 */
import { randomUUID } from "node:crypto";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outbox } from "../../../src/db/schema";
import type { InProcessQueue } from "../../../src/platform/queue/in-process";
import type { BusEnvelope, RealtimeBus } from "../../../src/platform/realtime";
import { createMemoryBus } from "../../../src/platform/realtime/memory";
import { startInProcessQueue } from "../../../workers/outbox-queue";
import { createTestApp, type TestApp } from "../../support/app";
import { DB_KINDS } from "../../support/db";
import { createBuilding, json } from "../../support/fixtures";
import { waitFor } from "../../support/wait";
import { hlcAt, opId, push } from "../sync/helpers";

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
});
