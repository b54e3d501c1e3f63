/**
 * The realtime bus port itself, run against every adapter that serves in-process subscribers:
 * the in-process bus and the Redis pub/sub bus (issue 20 §6). Delivery to the building's
 * listeners only, ids that increase, replay after an id and "gap" once the log dropped it,
 * unsubscribe, a throwing listener that hurts nobody else. The Redis bus adds what it exists
 * for: two replicas on one Redis see each other's messages, in one id order, and replay them.
 * (The app-level suite with real sockets is realtime-bus.contract.test.ts.)
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import type { BusEnvelope, RealtimeBus } from "../../src/platform/realtime";
import { createMemoryBus } from "../../src/platform/realtime/memory";
import { createRedisBus } from "../../src/platform/realtime/redis";
import { REDIS_URL } from "../support/env";
import { waitFor } from "../support/wait";

interface Opts {
  logSize?: number;
  maxBuildings?: number;
  onListenerError?: (err: unknown) => void;
}
const opened: RealtimeBus[] = [];
const adapters: Record<string, (o?: Opts) => Promise<RealtimeBus>> = {
  async memory(o = {}) {
    return createMemoryBus(o);
  },
  async redis(o = {}) {
    const bus = createRedisBus({ url: REDIS_URL, prefix: `test:rt:${randomUUID()}`, ...o });
    await bus.ready;
    opened.push(bus);
    return bus;
  },
};
afterAll(async () => {
  await Promise.all(opened.map((b) => b.close?.()));
});

const building = () => `b-${randomUUID()}`;

describe.each(Object.keys(adapters))("realtime bus port contract: %s", (name) => {
  const make = adapters[name]!;

  it("delivers to the building's listeners only, with increasing ids", async () => {
    const bus = await make();
    const [a, b] = [building(), building()];
    const gotA: BusEnvelope[] = [];
    const gotB: BusEnvelope[] = [];
    bus.subscribe!(a, (e) => gotA.push(e));
    bus.subscribe!(b, (e) => gotB.push(e));
    for (let i = 1; i <= 5; i++) await bus.publish({ type: "poke", buildingId: a, version: i });
    await bus.publish({ type: "poke", buildingId: b, version: 99 });
    await waitFor("five messages for a, one for b", () => gotA.length === 5 && gotB.length === 1);
    expect(gotA.map((e) => e.message.version)).toEqual([1, 2, 3, 4, 5]);
    expect(gotA.every((e) => e.message.buildingId === a)).toBe(true);
    for (let i = 1; i < gotA.length; i++) expect(gotA[i]!.seq).toBeGreaterThan(gotA[i - 1]!.seq);
    expect(gotB[0]!.seq).toBeGreaterThan(gotA[4]!.seq);
  });

  it("bounds the buildings it keeps logs for, never dropping one that has listeners", async () => {
    const bus = await make({ maxBuildings: 2 });
    const watched = building();
    const got: BusEnvelope[] = [];
    bus.subscribe!(watched, (e) => got.push(e));
    // Three more buildings without listeners push past the bound of two.
    for (const other of [building(), building(), building()])
      await bus.publish({ type: "poke", buildingId: other, version: 1 });
    await bus.publish({ type: "poke", buildingId: watched, version: 7 });
    await waitFor("the watched building's message", () => got.length === 1);
    expect(got[0]!.message.version).toBe(7);
  });

  it("replays after an id, and answers gap once the log dropped what was asked for", async () => {
    const bus = await make({ logSize: 3 });
    const b = building();
    const seen: BusEnvelope[] = [];
    const live = bus.subscribe!(b, (e) => seen.push(e));
    for (let i = 1; i <= 5; i++) await bus.publish({ type: "poke", buildingId: b, version: i });
    await waitFor("five messages", () => seen.length === 5);
    live.unsubscribe();
    const after = bus.subscribe!(b, () => {}, { afterSeq: seen[2]!.seq });
    expect(after.replay).toEqual(seen.slice(3));
    after.unsubscribe();
    // Messages 1 and 2 left the ring of 3: resuming after message 1 would miss message 2.
    expect(bus.subscribe!(b, () => {}, { afterSeq: seen[0]!.seq }).replay).toBe("gap");
    expect(bus.subscribe!(b, () => {}, { afterSeq: seen[4]!.seq }).replay).toEqual([]);
  });

  it("an id from before the bus knew the building is a gap, never a silent empty replay", async () => {
    const bus = await make();
    expect(bus.subscribe!(building(), () => {}, { afterSeq: 1 }).replay).toBe("gap");
  });

  it("unsubscribe stops delivery; a throwing listener does not keep others from theirs", async () => {
    const errors: unknown[] = [];
    const bus = await make({ onListenerError: (e) => errors.push(e) });
    const b = building();
    const kept: BusEnvelope[] = [];
    const dropped: BusEnvelope[] = [];
    bus.subscribe!(b, () => {
      throw new Error("listener bug");
    });
    bus.subscribe!(b, (e) => kept.push(e));
    const sub = bus.subscribe!(b, (e) => dropped.push(e));
    await bus.publish({ type: "poke", buildingId: b, version: 1 });
    await waitFor("first delivery", () => kept.length === 1 && dropped.length === 1);
    sub.unsubscribe();
    await bus.publish({ type: "poke", buildingId: b, version: 2 });
    await waitFor("second delivery", () => kept.length === 2);
    expect(dropped).toHaveLength(1);
    expect(errors.length).toBeGreaterThanOrEqual(2);
  });
});

describe("Redis bus across replicas", () => {
  it("a message published on one replica reaches listeners on both, in one id order, and replays on the other", async () => {
    const prefix = `test:rt:${randomUUID()}`;
    const [one, two] = [
      createRedisBus({ url: REDIS_URL, prefix }),
      createRedisBus({ url: REDIS_URL, prefix }),
    ];
    opened.push(one, two);
    await Promise.all([one.ready, two.ready]);
    const b = building();
    const onOne: BusEnvelope[] = [];
    const onTwo: BusEnvelope[] = [];
    one.subscribe!(b, (e) => onOne.push(e));
    const sub = two.subscribe!(b, (e) => onTwo.push(e));
    // Interleaved publishes from both replicas, concurrently.
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? one : two).publish({ type: "poke", buildingId: b, version: i }),
      ),
    );
    await waitFor("20 messages on both replicas", () => onOne.length === 20 && onTwo.length === 20);
    expect(onTwo.map((e) => e.seq)).toEqual(onOne.map((e) => e.seq));
    expect([...onOne.map((e) => e.seq)].sort((x, y) => x - y)).toEqual(onOne.map((e) => e.seq));
    expect(new Set(onOne.map((e) => e.message.version)).size).toBe(20);
    sub.unsubscribe();
    // An SSE client that saw the 10th message on replica one resumes on replica two.
    expect(two.subscribe!(b, () => {}, { afterSeq: onOne[9]!.seq }).replay).toEqual(onOne.slice(10));
  });

  it("ids keep increasing after every replica restarts (the counter lives in Redis)", async () => {
    const prefix = `test:rt:${randomUUID()}`;
    const first = createRedisBus({ url: REDIS_URL, prefix });
    const b = building();
    const before: BusEnvelope[] = [];
    await first.ready;
    first.subscribe!(b, (e) => before.push(e));
    await first.publish({ type: "poke", buildingId: b, version: 1 });
    await waitFor("first message", () => before.length === 1);
    expect(before[0]!.seq).toBeGreaterThan(Date.now() * 1000 - 600_000_000); // seeded with the clock (µs)
    await first.close!();
    const second = createRedisBus({ url: REDIS_URL, prefix });
    opened.push(second);
    await second.ready;
    const after: BusEnvelope[] = [];
    second.subscribe!(b, (e) => after.push(e));
    await second.publish({ type: "poke", buildingId: b, version: 2 });
    await waitFor("second message", () => after.length === 1);
    expect(after[0]!.seq).toBeGreaterThan(before[0]!.seq);
    // The restarted replica never saw the first message: resuming from before it is a gap.
    expect(second.subscribe!(b, () => {}, { afterSeq: before[0]!.seq - 1 }).replay).toBe("gap");
  });

  it("after losing its subscription a replica resubscribes, and a resume from before the outage is a gap", async () => {
    const prefix = `test:rt:${randomUUID()}`;
    const bus = createRedisBus({ url: REDIS_URL, prefix });
    opened.push(bus);
    await bus.ready;
    const b = building();
    const seen: BusEnvelope[] = [];
    bus.subscribe!(b, (e) => seen.push(e));
    await bus.publish({ type: "poke", buildingId: b, version: 1 });
    await waitFor("before the outage", () => seen.length === 1);
    // Cut this replica's subscriber connection only (it is named after the prefix).
    const admin = new Redis(REDIS_URL);
    try {
      const list = (await admin.client("LIST")) as string;
      const id = /id=(\d+) .*name=(\S+)/
        .exec(list.split("\n").find((l) => l.includes(`name=${prefix}:sub`)) ?? "")
        ?.at(1);
      expect(id).toBeDefined();
      await admin.client("KILL", "ID", id!);
    } finally {
      admin.disconnect();
    }
    // Messages published while it was away never arrived: resuming from before must resync.
    // Before the outage, a client that saw nothing after the seed resumes with message 1 replayed;
    // after it, this replica cannot know what it missed: such a resume must resync.
    const beforeFirst = seen[0]!.seq - 1;
    await waitFor(
      "floors reset after the reconnect",
      () => bus.subscribe!(b, () => {}, { afterSeq: beforeFirst }).replay === "gap",
    );
    await waitFor("live again", async () => {
      await bus.publish({ type: "poke", buildingId: b, version: 2 });
      return seen.some((e) => e.message.version === 2);
    });
  });
});
