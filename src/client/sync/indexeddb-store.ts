/**
 * Durable store for browsers: IndexedDB with three object stores, `rows` (key `entity:id`),
 * `queue` (key = position, so replay order survives) and `meta` (device id, op stream, clock,
 * seq, cursors). Each method is one readwrite transaction and resolves on its `complete` event, i.e.
 * once the browser has committed it. A memory mirror answers reads.
 */
import {
  applyPullPage,
  applyQueueUpdate,
  emptyState,
  type LocalStore,
  type PullPage,
  type QueuedOp,
  type QueueUpdate,
  type StoreMeta,
  type StoreState,
} from "./store";

const STORES = ["rows", "queue", "meta"] as const;

const done = (tx: IDBTransaction) =>
  new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error("transaction aborted"));
  });

const request = <T>(r: IDBRequest<T>) =>
  new Promise<T>((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });

export class IndexedDbStore implements LocalStore {
  private db: IDBDatabase | null = null;
  private state: StoreState | null = null;
  /** Position of the next queued op (keys of the `queue` store). */
  private nextPos = 0;
  private positions = new Map<string, number>();

  constructor(
    private readonly name = "horizon-sync",
    private readonly factory: IDBFactory = globalThis.indexedDB,
  ) {}

  private async open(): Promise<IDBDatabase> {
    if (this.db) return this.db;
    const req = this.factory.open(this.name, 1);
    req.onupgradeneeded = () => {
      for (const s of STORES) if (!req.result.objectStoreNames.contains(s)) req.result.createObjectStore(s);
    };
    this.db = await request(req);
    return this.db;
  }

  private async ensure(): Promise<StoreState> {
    if (this.state) return this.state;
    const db = await this.open();
    const tx = db.transaction([...STORES], "readonly");
    const [rowKeys, rows, queueKeys, queue, meta] = await Promise.all([
      request(tx.objectStore("rows").getAllKeys()),
      request(tx.objectStore("rows").getAll()),
      request(tx.objectStore("queue").getAllKeys()),
      request(tx.objectStore("queue").getAll()),
      request(tx.objectStore("meta").get("meta")),
    ]);
    const state = emptyState();
    rowKeys.forEach((key, i) => {
      const [entity] = String(key).split(":") as [keyof StoreState["rows"]];
      const row = rows[i];
      const bucket = state.rows[entity] ?? {};
      state.rows[entity] = bucket;
      bucket[row.id] = row;
    });
    queueKeys.forEach((key, i) => {
      const op = queue[i] as QueuedOp;
      state.queue.push(op);
      this.positions.set(op.opId, Number(key));
      this.nextPos = Math.max(this.nextPos, Number(key) + 1);
    });
    if (meta) Object.assign(state, meta);
    this.state = state;
    return state;
  }

  private metaRecord(s: StoreState) {
    return { deviceId: s.deviceId, streamId: s.streamId, clock: s.clock, seq: s.seq, cursors: s.cursors };
  }

  async load(): Promise<StoreState> {
    return structuredClone(await this.ensure());
  }

  async enqueue(ops: QueuedOp[], meta: StoreMeta): Promise<void> {
    const s = await this.ensure();
    const tx = this.db!.transaction(["queue", "meta"], "readwrite");
    for (const op of ops) {
      const pos = this.nextPos++;
      this.positions.set(op.opId, pos);
      tx.objectStore("queue").put(op, pos);
    }
    Object.assign(s, meta);
    tx.objectStore("meta").put(this.metaRecord(s), "meta");
    await done(tx);
    s.queue.push(...structuredClone(ops));
  }

  async updateQueue(update: QueueUpdate): Promise<void> {
    const s = await this.ensure();
    applyQueueUpdate(s, structuredClone(update));
    const tx = this.db!.transaction(["queue", "meta"], "readwrite");
    for (const opId of update.remove) {
      const pos = this.positions.get(opId);
      if (pos !== undefined) tx.objectStore("queue").delete(pos);
      this.positions.delete(opId);
    }
    // A reissued op keeps its position (replay order) under its new id.
    for (const [from, to] of Object.entries(update.reissue ?? {})) {
      const pos = this.positions.get(from);
      if (pos === undefined) continue;
      this.positions.delete(from);
      this.positions.set(to, pos);
    }
    const renamed = new Set(Object.values(update.reissue ?? {}));
    for (const op of s.queue)
      if (update.ack[op.opId] !== undefined || renamed.has(op.opId))
        tx.objectStore("queue").put(op, this.positions.get(op.opId)!);
    if (update.meta) tx.objectStore("meta").put(this.metaRecord(s), "meta");
    await done(tx);
  }

  async applyPull(page: PullPage): Promise<void> {
    const s = await this.ensure();
    const before = new Map<string, string>();
    for (const [entity, rows] of Object.entries(s.rows))
      for (const id of Object.keys(rows ?? {})) before.set(`${entity}:${id}`, entity);
    applyPullPage(s, structuredClone(page));
    const tx = this.db!.transaction(["rows", "meta"], "readwrite");
    const store = tx.objectStore("rows");
    for (const key of before.keys()) {
      const [entity, id] = key.split(":") as [keyof StoreState["rows"], string];
      if (!s.rows[entity]?.[id]) store.delete(key);
    }
    for (const { entity, row } of page.upserts) store.put(row, `${entity}:${row.id}`);
    tx.objectStore("meta").put(this.metaRecord(s), "meta");
    await done(tx);
  }

  async close(): Promise<void> {
    this.db?.close();
    this.db = null;
    this.state = null;
  }
}
