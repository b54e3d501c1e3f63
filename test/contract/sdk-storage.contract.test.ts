/**
 * One contract for every storage adapter of the client SDK (memory, IndexedDB over
 * fake-indexeddb, file, React Native over an AsyncStorage-shaped and an MMKV-shaped backend):
 * missing keys, round trips, overwrites, removal, odd keys that must not collide, large and
 * non-ASCII values, writes to one key landing in the order issued, values surviving a new adapter
 * instance (the durable ones), and the sync queue and queue lease built on top working the same
 * on each. A fast-check model test holds each adapter to a Map under any sequence of writes.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IDBFactory } from "fake-indexeddb";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { FileStorage } from "../../src/client/storage/file";
import { type HorizonStorage, KvSyncStore, StorageLease } from "../../src/client/storage/index";
import { IndexedDbStorage } from "../../src/client/storage/indexeddb";
import { MemoryStorage } from "../../src/client/storage/memory";
import { reactNativeStorage } from "../../src/client/storage/react-native";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Adapter {
  name: string;
  /** A fresh, empty storage and a way to open it again (another app start) when it is durable. */
  create(): { storage: HorizonStorage; reopen?: () => HorizonStorage };
}

/** An in-memory backend with AsyncStorage's shape (promises) or MMKV's (synchronous). */
function backend(sync: boolean) {
  const m = new Map<string, string>();
  return sync
    ? {
        getItem: (k: string) => m.get(k) ?? null,
        setItem: (k: string, v: string) => void m.set(k, v),
        removeItem: (k: string) => void m.delete(k),
      }
    : {
        getItem: async (k: string) => m.get(k) ?? null,
        setItem: async (k: string, v: string) => void m.set(k, v),
        removeItem: async (k: string) => void m.delete(k),
      };
}

let dbs = 0;
const ADAPTERS: Adapter[] = [
  { name: "memory", create: () => ({ storage: new MemoryStorage() }) },
  {
    name: "indexeddb",
    create: () => {
      const factory = new IDBFactory();
      const name = `horizon-${dbs++}`;
      return {
        storage: new IndexedDbStorage(name, factory),
        reopen: () => new IndexedDbStorage(name, factory),
      };
    },
  },
  {
    name: "file",
    create: () => {
      const dir = mkdtempSync(join(tmpdir(), "horizon-sdk-storage-"));
      dirs.push(dir);
      return { storage: new FileStorage(dir), reopen: () => new FileStorage(dir) };
    },
  },
  {
    name: "react-native (AsyncStorage)",
    create: () => {
      const b = backend(false);
      return { storage: reactNativeStorage(b), reopen: () => reactNativeStorage(b) };
    },
  },
  {
    name: "react-native (MMKV-like, synchronous)",
    create: () => {
      const b = backend(true);
      return { storage: reactNativeStorage(b), reopen: () => reactNativeStorage(b) };
    },
  },
];

describe.each(ADAPTERS)("SDK storage contract: $name", (adapter) => {
  it("answers null for a missing key; sets, overwrites and removes", async () => {
    const { storage: s } = adapter.create();
    expect(await s.getItem("nothing")).toBeNull();
    await s.setItem("a", "1");
    expect(await s.getItem("a")).toBe("1");
    await s.setItem("a", "2");
    expect(await s.getItem("a")).toBe("2");
    await s.removeItem("a");
    expect(await s.getItem("a")).toBeNull();
    await s.removeItem("a");
    await s.removeItem("never-there");
  });

  it("keeps keys with separators and dots apart, and large non-ASCII values intact", async () => {
    const { storage: s } = adapter.create();
    const keys = [
      "horizon:sync:u1:queue",
      "horizon:sync:u1/queue",
      "horizon.sync.u1.queue",
      "..",
      "%2E%2E",
      "a b",
      "ключ",
    ];
    for (const [i, k] of keys.entries()) await s.setItem(k, `v${i}`);
    for (const [i, k] of keys.entries()) expect(await s.getItem(k), k).toBe(`v${i}`);
    const big = JSON.stringify({
      rows: Array.from({ length: 5000 }, (_, i) => ({ id: i, title: `שלום 👋 ${i}` })),
    });
    await s.setItem("big", big);
    expect(await s.getItem("big")).toBe(big);
  });

  it("writes to one key land in the order they were issued", async () => {
    const { storage: s } = adapter.create();
    await Promise.all(Array.from({ length: 30 }, (_, i) => s.setItem("k", String(i))));
    expect(await s.getItem("k")).toBe("29");
  });

  // Registered only for adapters that persist (memory cannot be reopened), so the suite never
  // reports a skip.
  if (adapter.create().reopen) {
    it("values survive a new adapter instance (an app restart)", async () => {
      const { storage: s, reopen } = adapter.create();
      await s.setItem("session", '{"refreshToken":"r1"}');
      await s.setItem("gone", "x");
      await s.removeItem("gone");
      const again = reopen!();
      expect(await again.getItem("session")).toBe('{"refreshToken":"r1"}');
      expect(await again.getItem("gone")).toBeNull();
    });
  }

  it("carries the sync queue (KvSyncStore) across restarts", async () => {
    const { storage: s, reopen } = adapter.create();
    const store = new KvSyncStore(s, "t:");
    const op = {
      opId: "s1:1",
      type: "create" as const,
      entity: "announcements",
      id: "a1",
      fields: { title: "Hi" },
      hlc: "000000000000001-000000-d1",
      buildingId: "b1",
    };
    await store.enqueue([op], { deviceId: "d1", streamId: "s1", clock: op.hlc, seq: 1 });
    await store.applyPull({
      reset: [],
      upserts: [{ entity: "apartments", row: { id: "p1", buildingId: "b1", number: "1" } }],
      deletes: [],
      cursors: { b1: 7 },
      forget: [],
    });
    const loaded = await new KvSyncStore(reopen ? reopen() : s, "t:").load();
    expect(loaded.queue).toEqual([op]);
    expect(loaded).toMatchObject({ deviceId: "d1", streamId: "s1", seq: 1, cursors: { b1: 7 } });
    expect(loaded.rows.apartments?.p1).toEqual({ id: "p1", buildingId: "b1", number: "1" });
  });

  it("gives the queue lease to one instance at a time", async () => {
    const { storage: s } = adapter.create();
    const a = new StorageLease(s, "lease", { ttlMs: 60_000, settleMs: 5 });
    const b = new StorageLease(s, "lease", { ttlMs: 60_000, settleMs: 5 });
    const both = await Promise.all([a.tryAcquire(), b.tryAcquire()]);
    expect(both.filter(Boolean)).toHaveLength(1);
    const [owner, other] = both[0] ? [a, b] : [b, a];
    expect(await other.tryAcquire()).toBe(false);
    await owner.release();
    expect(await other.tryAcquire()).toBe(true);
    expect(await owner.held()).toBe(false);
    await other.release();
  });

  it("Property: any sequence of writes leaves the adapter equal to a Map", async () => {
    const key = fc.constantFrom("a", "b", "a:b", "a.b", "ü");
    const step = fc.oneof(
      fc.record({ op: fc.constant("set" as const), key, value: fc.string({ maxLength: 20 }) }),
      fc.record({ op: fc.constant("remove" as const), key }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 8 }), async (steps) => {
        const { storage: s } = adapter.create();
        const model = new Map<string, string>();
        for (const st of steps) {
          if (st.op === "set") {
            model.set(st.key, st.value);
            await s.setItem(st.key, st.value);
          } else {
            model.delete(st.key);
            await s.removeItem(st.key);
          }
        }
        for (const k of ["a", "b", "a:b", "a.b", "ü"]) expect(await s.getItem(k)).toBe(model.get(k) ?? null);
      }),
      { numRuns: 100 },
    );
  });
});
