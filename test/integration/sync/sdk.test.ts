import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IDBFactory } from "fake-indexeddb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SyncClient } from "../../../src/client/sync/client";
import { FileStore } from "../../../src/client/sync/file-store";
import { IndexedDbStore } from "../../../src/client/sync/indexeddb-store";
import { type LocalStore, MemoryStore, type QueuedOp, type StoreMeta } from "../../../src/client/sync/store";
import { createTestApp, type TestApp } from "../../support/app";
import { createBuilding, type TestBuilding, type TestUser } from "../../support/fixtures";

const BASE = "http://horizon.test/api/v1";

describe("sync SDK against the real app", () => {
  let t: TestApp;
  let dir: string;
  beforeAll(async () => {
    t = await createTestApp({ db: "pglite" });
    dir = await mkdtemp(join(tmpdir(), "horizon-sdk-"));
  });
  afterAll(async () => {
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  const open = (b: TestBuilding, user: TestUser, store: LocalStore, extra: Record<string, unknown> = {}) =>
    SyncClient.open({
      baseUrl: BASE,
      fetch: ((input: RequestInfo | URL, init?: RequestInit) =>
        t.app.request(String(input), init)) as typeof fetch,
      token: () => user.token,
      store,
      buildings: [b.id],
      intervalMs: 0,
      ...extra,
    });

  it("keeps edits offline, shows them optimistically, converges after sync, and emits events with counts", async () => {
    const b = await createBuilding(t.services);
    const manager = await open(b, b.manager, new MemoryStore(), { deviceId: "mgr-1" });
    const resident = await open(b, b.resident, new MemoryStore(), { deviceId: "res-1" });
    const events: string[] = [];
    manager.on("syncing", (e) => events.push(`syncing:${e.pending}`));
    manager.on("synced", (e) => events.push(`synced:${e.pushed}/${e.applied}`));
    const id = await manager.create("announcements", {
      buildingId: b.id,
      title: "Lift",
      body: "out of order",
    });
    expect(manager.get("announcements", id)).toMatchObject({ title: "Lift" });
    expect(manager.serverRows("announcements")).toEqual([]);
    await manager.syncNow();
    expect(events).toEqual(["syncing:1", "synced:1/1"]);
    expect(manager.pending()).toBe(0);
    await resident.syncNow();
    expect(resident.get("announcements", id)).toMatchObject({ title: "Lift", body: "out of order" });
    // The resident may not edit announcements: the op is rejected and reported, then dropped.
    const conflicts: number[] = [];
    resident.on("conflict", (e) => conflicts.push(e.rejected.length));
    await resident.update("announcements", id, { title: "nope" });
    expect(resident.get("announcements", id)).toMatchObject({ title: "nope" });
    await resident.syncNow();
    expect(conflicts).toEqual([1]);
    expect(resident.get("announcements", id)).toMatchObject({ title: "Lift" });
  });

  it("persists an edit before resolving it", async () => {
    const b = await createBuilding(t.services);
    const writes: string[] = [];
    class SlowStore extends MemoryStore {
      override async enqueue(ops: QueuedOp[], meta: StoreMeta) {
        await new Promise((r) => setTimeout(r, 20));
        await super.enqueue(ops, meta);
        writes.push(ops.map((o) => o.opId).join());
      }
    }
    const client = await open(b, b.manager, new SlowStore());
    let visibleEarly = true;
    const p = client.create(
      "announcements",
      { buildingId: b.id, title: "a", body: "b" },
      crypto.randomUUID(),
    );
    visibleEarly = client.pending() > 0;
    const id = await p;
    expect(visibleEarly).toBe(false);
    expect(writes.at(-1)).toBe(`${client.streamId}:1`);
    expect(client.get("announcements", id)).toBeDefined();
  });

  it("file store: a restarted client keeps its queue, clock and rows; writes are atomic renames", async () => {
    const b = await createBuilding(t.services);
    const path = join(dir, "fs-1");
    const first = await open(b, b.resident, new FileStore(path));
    await first.syncNow();
    const id = await first.create("maintenance_requests", {
      buildingId: b.id,
      apartmentId: b.apartments[0]!.id,
      title: "Heating",
    });
    await first.store.close();
    const again = await open(b, b.resident, new FileStore(path));
    expect(again.deviceId).toBe(first.deviceId);
    expect(again.streamId).toBe(first.streamId);
    expect(again.pending()).toBe(1);
    expect(again.get("maintenance_requests", id)).toMatchObject({ title: "Heating" });
    expect(again.list("apartments")).toHaveLength(3);
    await again.syncNow();
    expect(again.pending()).toBe(0);
    expect(again.serverRows("maintenance_requests")).toEqual([
      expect.objectContaining({ id, title: "Heating", openedBy: b.resident.id }),
    ]);
    expect((await readdir(path)).sort()).toEqual(["queue.json", "rows.json"]);
  });

  it("IndexedDB store: survives a reopen and syncs like the others", async () => {
    const b = await createBuilding(t.services);
    const factory = new IDBFactory();
    const first = await open(b, b.manager, new IndexedDbStore("horizon-test", factory));
    await first.syncNow();
    const id = await first.create("announcements", { buildingId: b.id, title: "Paint", body: "Monday" });
    await first.store.close();
    const again = await open(b, b.manager, new IndexedDbStore("horizon-test", factory));
    expect(again.streamId).toBe(first.streamId);
    expect(again.pending()).toBe(1);
    expect(again.list("apartments")).toHaveLength(3);
    await again.syncNow();
    expect(again.pending()).toBe(0);
    await again.delete("announcements", id);
    await again.syncNow();
    await again.store.close();
    const third = await open(b, b.manager, new IndexedDbStore("horizon-test", factory));
    expect(third.get("announcements", id)).toBeUndefined();
    expect(third.pending()).toBe(0);
    expect(third.cursors()[b.id]).toBeGreaterThan(0);
  });

  it("syncs on the interval, when coming back online, and on syncNow (the realtime poke hook)", async () => {
    const b = await createBuilding(t.services);
    const intervals: Array<() => void> = [];
    const client = await open(b, b.manager, new MemoryStore(), {
      intervalMs: 1000,
      timers: {
        setTimeout: () => 0,
        clearTimeout: () => {},
        setInterval: (fn: () => void) => intervals.push(fn),
        clearInterval: () => {},
      },
    });
    let cycles = 0;
    client.on("synced", () => cycles++);
    const done = () =>
      new Promise<void>((r) => {
        const off = client.on("synced", () => {
          off();
          r();
        });
      });
    let next = done();
    client.start();
    await next;
    expect(intervals).toHaveLength(1);
    next = done();
    intervals[0]!();
    await next;
    next = done();
    globalThis.dispatchEvent?.(new Event("online"));
    if (!globalThis.dispatchEvent) void client.online();
    await next;
    await Promise.all([client.syncNow(), client.syncNow()]);
    client.stop();
    expect(cycles).toBeGreaterThanOrEqual(4);
  });

  it("resnapshots after 410 when its cursor predates the kept tombstones", async () => {
    const { purgeTombstones } = await import("../../../src/modules/sync/tombstones");
    const b = await createBuilding(t.services);
    const writer = await open(b, b.manager, new MemoryStore());
    const reader = await open(b, b.resident, new MemoryStore());
    const keep = await writer.create("announcements", { buildingId: b.id, title: "keep", body: "x" });
    const gone = await writer.create("announcements", { buildingId: b.id, title: "gone", body: "x" });
    await writer.syncNow();
    await reader.syncNow();
    await writer.delete("announcements", gone);
    await writer.syncNow();
    await purgeTombstones(t.services.database.db, b.id, writer.cursors()[b.id]!);
    await reader.syncNow();
    expect(reader.list("announcements").map((r) => r.id)).toEqual([keep]);
  });
});
