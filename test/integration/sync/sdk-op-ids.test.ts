/**
 * Op ids of the sync SDK (issue 14, defect 1): a reinstall that reuses the device id must not
 * reuse op ids, a store copied to a second install is refused visibly and recovers, stores from
 * before op streams keep their queued ids, a torn store file does not stop the app, and every op
 * the server refuses reaches the app with its reason.
 */
import { cp, mkdtemp, readdir, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IDBFactory } from "fake-indexeddb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SyncClient } from "../../../src/client/sync/client";
import { FileStore } from "../../../src/client/sync/file-store";
import { IndexedDbStore } from "../../../src/client/sync/indexeddb-store";
import { type LocalStore, MemoryStore } from "../../../src/client/sync/store";
import type { RejectedOp } from "../../../src/client/sync/support";
import type { OpResult, PushResponse } from "../../../src/protocol/sync";
import { createTestApp, type TestApp } from "../../support/app";
import { createBuilding, type TestBuilding, type TestUser } from "../../support/fixtures";
import { pull } from "./helpers";

const BASE = "http://horizon.test/api/v1";

describe("sync SDK op ids", () => {
  let t: TestApp;
  let dir: string;
  /** Every push result the app answered, by op id. */
  const answered = new Map<string, OpResult[]>();
  beforeAll(async () => {
    t = await createTestApp({ db: "pglite" });
    dir = await mkdtemp(join(tmpdir(), "horizon-sdk-ids-"));
  });
  afterAll(async () => {
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  const transport = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const res = await t.app.request(String(input), init);
    if (String(input).endsWith("/sync/push") && res.status === 200) {
      const body = (await res.clone().json()) as PushResponse;
      for (const r of body.results) answered.set(r.opId, [...(answered.get(r.opId) ?? []), r]);
    }
    return res;
  }) as typeof fetch;

  const open = async (
    b: TestBuilding,
    user: TestUser,
    store: LocalStore,
    deviceId: string,
    fetch: typeof globalThis.fetch = transport,
  ) => {
    const client = await SyncClient.open({
      baseUrl: BASE,
      fetch,
      token: () => user.token,
      store,
      buildings: [b.id],
      deviceId,
      intervalMs: 0,
    });
    const rejected: RejectedOp[] = [];
    client.on("rejected", (e) => rejected.push(...e.ops));
    return { client, rejected };
  };

  const titles = async (b: TestBuilding) =>
    ((await pull(t, b.manager, { [b.id]: null })).body.changes.announcements?.created ?? [])
      .map((r) => r.title as string)
      .sort();

  it("two fresh stores with the same device id (a reinstall): both offline edits reach the server", async () => {
    const b = await createBuilding(t.services);
    const first = await open(b, b.manager, new MemoryStore(), "phone-1");
    const a = await first.client.create("announcements", { buildingId: b.id, title: "first", body: "x" });
    await first.client.syncNow();
    // App data cleared: a new empty store, the same device id from the app's own settings.
    const second = await open(b, b.manager, new MemoryStore(), "phone-1");
    const c = await second.client.create("announcements", { buildingId: b.id, title: "second", body: "y" });
    await second.client.syncNow();

    expect(second.client.deviceId).toBe(first.client.deviceId);
    expect(second.client.streamId).not.toBe(first.client.streamId);
    expect(first.rejected).toEqual([]);
    expect(second.rejected).toEqual([]);
    expect(second.client.pending()).toBe(0);
    expect(await titles(b)).toEqual(["first", "second"]);
    expect(second.client.get("announcements", c)).toMatchObject({ title: "second" });
    expect(second.client.get("announcements", a)).toMatchObject({ title: "first" });
  });

  it("a store copied to a second install: the reused op id is refused visibly, never applied, then sent under a new stream", async () => {
    const b = await createBuilding(t.services);
    const path = join(dir, "copied-a");
    const original = await open(b, b.manager, new FileStore(path), "tablet");
    await original.client.syncNow();
    await original.client.store.close();
    // A restored backup: the second install starts from a byte copy of the first one's store.
    await cp(path, join(dir, "copied-b"), { recursive: true });
    const one = await open(b, b.manager, new FileStore(path), "tablet");
    const two = await open(b, b.manager, new FileStore(join(dir, "copied-b")), "tablet");
    expect(two.client.streamId).toBe(one.client.streamId);

    await one.client.create("announcements", { buildingId: b.id, title: "from one", body: "x" });
    const twoId = await two.client.create("announcements", {
      buildingId: b.id,
      title: "from two",
      body: "y",
    });
    const collided = `${two.client.streamId}:${1}`;
    await one.client.syncNow();
    const stream = two.client.streamId;
    await two.client.syncNow();

    // The reused id was answered rejected (OP_ID_REUSED), not with the first install's result.
    expect(answered.get(collided)!.map((r) => r.status)).toEqual(["applied", "rejected"]);
    expect(answered.get(collided)![1]!.reason).toBe("OP_ID_REUSED");
    expect(two.rejected).toHaveLength(1);
    expect(two.rejected[0]).toMatchObject({
      reason: "OP_ID_REUSED",
      op: { opId: collided, id: twoId, fields: { title: "from two" } },
    });
    const reissued = two.rejected[0]!.reissuedAs!;
    expect(reissued).toMatch(/^s[0-9a-f]{32}:\d+$/);
    expect(reissued.startsWith(`${stream}:`)).toBe(false);
    expect(answered.get(reissued)!.map((r) => r.status)).toEqual(["applied"]);
    expect(two.client.streamId).toBe(reissued.split(":")[0]);
    expect(two.client.pending()).toBe(0);
    expect(await titles(b)).toEqual(["from one", "from two"]);

    // The new stream is durable: a restart keeps issuing ids from it.
    await two.client.store.close();
    const reopened = await open(b, b.manager, new FileStore(join(dir, "copied-b")), "tablet");
    expect(reopened.client.streamId).toBe(two.client.streamId);
  });

  it("IndexedDB store: the reissued op and the new stream are durable before they are sent", async () => {
    const b = await createBuilding(t.services);
    const factory = new IDBFactory();
    const first = await open(b, b.manager, new IndexedDbStore("first", factory), "ipad");
    await first.client.create("announcements", { buildingId: b.id, title: "one", body: "x" });
    await first.client.syncNow();
    // A backup of the first install, taken before its edit, restored on a second one.
    const restored = new IndexedDbStore("second", factory);
    await restored.enqueue([], { deviceId: "ipad", streamId: first.client.streamId, clock: null, seq: 0 });
    let pushes = 0;
    // The push that would carry the reissued op never arrives: the app dies before it is answered.
    const flaky = ((input: RequestInfo | URL, init?: RequestInit) =>
      String(input).endsWith("/sync/push") && ++pushes === 2
        ? Promise.reject(new TypeError("network gone"))
        : transport(input, init)) as typeof fetch;
    const second = await open(b, b.manager, restored, "ipad", flaky);
    const id = await second.client.create("announcements", { buildingId: b.id, title: "two", body: "y" });
    await expect(second.client.syncNow()).rejects.toThrow("network gone");
    expect(second.rejected.map((r) => r.reason)).toEqual(["OP_ID_REUSED"]);
    await second.client.store.close();

    const reopened = await open(b, b.manager, new IndexedDbStore("second", factory), "ipad");
    expect(reopened.client.streamId).not.toBe(first.client.streamId);
    const state = await reopened.client.store.load();
    expect(state.queue).toEqual([
      expect.objectContaining({
        opId: second.rejected[0]!.reissuedAs,
        reissuedFrom: `${first.client.streamId}:1`,
        id,
      }),
    ]);
    await reopened.client.syncNow();
    expect(reopened.client.pending()).toBe(0);
    expect(await titles(b)).toEqual(["one", "two"]);
  });

  it("a file store from before op streams gets a stream; ops it queued keep their ids", async () => {
    const b = await createBuilding(t.services);
    const path = join(dir, "legacy");
    const deviceId = `legacy-${crypto.randomUUID().slice(0, 8)}`;
    const old = await open(b, b.manager, new FileStore(path), deviceId);
    const id = await old.client.create("announcements", { buildingId: b.id, title: "queued", body: "x" });
    await old.client.store.close();
    // Rewritten as the SDK wrote it before streams: op ids `<deviceId>:<seq>`, no streamId.
    const file = JSON.parse(await readFile(join(path, "queue.json"), "utf8"));
    delete file.streamId;
    file.queue[0].opId = `${deviceId}:1`;
    await writeFile(join(path, "queue.json"), JSON.stringify(file));

    const migrated = await open(b, b.manager, new FileStore(path), deviceId);
    expect(migrated.client.streamId).toMatch(/^s[0-9a-f]{32}$/);
    const later = await migrated.client.create("announcements", {
      buildingId: b.id,
      title: "later",
      body: "y",
    });
    await migrated.client.syncNow();
    expect(answered.get(`${deviceId}:1`)!.map((r) => r.status)).toEqual(["applied"]);
    expect(answered.get(`${migrated.client.streamId}:2`)!.map((r) => r.status)).toEqual(["applied"]);
    expect(await titles(b)).toEqual(["later", "queued"]);
    expect(migrated.client.get("announcements", id)).toBeDefined();
    expect(migrated.client.get("announcements", later)).toBeDefined();
    await migrated.client.store.close();
    const stored = JSON.parse(await readFile(join(path, "queue.json"), "utf8"));
    expect(stored.streamId).toBe(migrated.client.streamId);
  });

  it("a torn queue file is set aside: the store opens on a new stream and syncs again", async () => {
    const b = await createBuilding(t.services);
    const path = join(dir, "torn");
    const before = await open(b, b.manager, new FileStore(path), "torn-phone");
    await before.client.syncNow();
    await before.client.create("announcements", { buildingId: b.id, title: "lost", body: "x" });
    await before.client.store.close();
    // The last write torn half way, and a temp file a crash left behind.
    const size = (await readFile(join(path, "queue.json"))).length;
    await truncate(join(path, "queue.json"), Math.floor(size / 2));
    await writeFile(join(path, "queue.json.123.abc.tmp"), '{"queue":[');

    const after = await open(b, b.manager, new FileStore(path), "torn-phone");
    expect(after.client.damaged).toEqual([expect.stringMatching(/^queue\.json\.torn-\d+$/)]);
    expect(after.client.streamId).not.toBe(before.client.streamId);
    expect(after.client.pending()).toBe(0);
    await after.client.create("announcements", { buildingId: b.id, title: "kept", body: "y" });
    await after.client.syncNow();
    expect(await titles(b)).toEqual(["kept"]);
    const files = await readdir(path);
    expect(files.filter((f) => f.endsWith(".tmp"))).toEqual([]);
    expect(files).toContain(after.client.damaged[0]);
  });

  it("every refused op reaches the app with its reason and content, and leaves the queue", async () => {
    const b = await createBuilding(t.services);
    const manager = await open(b, b.manager, new MemoryStore(), "desk");
    const id = await manager.client.create("announcements", { buildingId: b.id, title: "Lift", body: "x" });
    await manager.client.syncNow();
    const resident = await open(b, b.resident, new MemoryStore(), "res-phone");
    await resident.client.syncNow();
    await resident.client.update("announcements", id, { title: "nope" });
    let synced: { rejected: number; applied: number } | undefined;
    resident.client.on("synced", (e) => {
      synced = e;
    });
    await resident.client.syncNow();
    expect(resident.rejected).toEqual([
      expect.objectContaining({
        reason: expect.any(String),
        op: expect.objectContaining({ id, type: "update" }),
      }),
    ]);
    expect(resident.rejected[0]!.reissuedAs).toBeUndefined();
    expect(synced).toMatchObject({ rejected: 1, applied: 0 });
    expect(resident.client.pending()).toBe(0);
    expect(resident.client.get("announcements", id)).toMatchObject({ title: "Lift" });
  });

  it("a NUL or a lone surrogate in a field: that op is refused INVALID_TEXT, the rest of the push applies", async () => {
    const b = await createBuilding(t.services);
    const client = await open(b, b.manager, new MemoryStore(), "hostile");
    const bad = await client.client.create("announcements", {
      buildingId: b.id,
      title: "a\u0000b",
      body: "x",
    });
    const good = await client.client.create("announcements", {
      buildingId: b.id,
      title: "\u202eRTL 🏠",
      body: "y",
    });
    const surrogate = await client.client.create("announcements", {
      buildingId: b.id,
      title: "\ud800",
      body: "z",
    });
    await client.client.syncNow();
    expect(client.rejected.map((r) => [r.op.id, r.reason])).toEqual([
      [bad, "INVALID_TEXT"],
      [surrogate, "INVALID_TEXT"],
    ]);
    expect(client.client.pending()).toBe(0);
    expect(await titles(b)).toEqual(["\u202eRTL 🏠"]);
    expect(client.client.get("announcements", good)).toMatchObject({ title: "\u202eRTL 🏠" });
    expect(client.client.get("announcements", bad)).toBeUndefined();
  });
});
