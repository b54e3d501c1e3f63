/**
 * Storage of the SDK: one small async key-value contract (`HorizonStorage`, the shape of
 * AsyncStorage and localStorage-like stores) that every adapter implements — memory, IndexedDB,
 * file (Node/Bun), React Native — and everything the SDK keeps goes through it: the session, the
 * sync queue and pulled rows (KvSyncStore), and the queue owner's lease (StorageLease).
 * Adapters live in their own entries (`@horizon/client/storage/<name>`), so an app bundles only
 * the one it uses; this file imports no platform API.
 */
import type { LocalStore, PullPage, QueuedOp, QueueUpdate, StoreMeta, StoreState } from "../sync/store";
import { applyPullPage, applyQueueUpdate, emptyState } from "../sync/store";

/**
 * An async key-value store. `setItem` resolves only once the value is durable (as durable as the
 * medium is), and rejects when it could not be written: the SDK then refuses the edit instead of
 * pretending it was saved. Values are strings (JSON).
 */
export interface HorizonStorage {
  getItem(key: string): Promise<string | null>;
  setItem(key: string, value: string): Promise<void>;
  removeItem(key: string): Promise<void>;
}

/** Thrown by a sync store whose instance no longer owns the queue (another tab or app instance does). */
export class StoreLockedError extends Error {
  readonly code = "STORE_LOCKED";
  constructor(message = "another instance owns the sync queue of this storage") {
    super(message);
    this.name = "StoreLockedError";
  }
}

export interface LeaseOptions {
  /** A lease not renewed for this long is free to take (the owner crashed). Default 15 s. */
  ttlMs?: number;
  /** Wait between writing a claim and reading it back (two claimers racing: the last write wins). Default 25 ms. */
  settleMs?: number;
  now?: () => number;
}

interface LeaseRecord {
  owner: string;
  expiresAt: number;
}

/**
 * One queue owner at a time among instances that share a storage (two tabs, an app and its
 * background task). The owner writes `{owner, expiresAt}` under `key` and renews it every third
 * of the TTL; another instance may take it once it expired. Storage offers no compare-and-set,
 * so a claim is written, left to settle, and read back: of two instances claiming at once, the
 * one whose write landed last owns the lease and the other sees a foreign owner and backs off.
 * The store also checks the lease before every write, so an owner that was suspended past its
 * TTL and lost the lease has its writes refused rather than overwriting the new owner's queue.
 */
export class StorageLease {
  readonly owner = `i${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly ttlMs: number;
  private readonly settleMs: number;
  private readonly now: () => number;

  constructor(
    private readonly storage: HorizonStorage,
    private readonly key: string,
    options: LeaseOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 15_000;
    this.settleMs = options.settleMs ?? 25;
    this.now = options.now ?? Date.now;
  }

  private async read(): Promise<LeaseRecord | null> {
    const text = await this.storage.getItem(this.key);
    if (!text) return null;
    try {
      const v = JSON.parse(text) as LeaseRecord;
      return typeof v.owner === "string" && typeof v.expiresAt === "number" ? v : null;
    } catch {
      return null;
    }
  }

  /** True when this instance holds an unexpired lease. */
  async held(): Promise<boolean> {
    const rec = await this.read();
    return rec !== null && rec.owner === this.owner && rec.expiresAt > this.now();
  }

  /** Takes the lease when it is free, expired or already ours; false when another instance holds it. */
  async tryAcquire(): Promise<boolean> {
    const rec = await this.read();
    if (rec && rec.owner !== this.owner && rec.expiresAt > this.now()) return false;
    await this.write();
    await new Promise((r) => setTimeout(r, this.settleMs));
    if (!(await this.held())) return false;
    this.startRenewing();
    return true;
  }

  /** Waits (polling) until the lease is ours, or `timeoutMs` passed (false). */
  async acquire(timeoutMs: number, pollMs = 250): Promise<boolean> {
    const deadline = this.now() + timeoutMs;
    for (;;) {
      if (await this.tryAcquire()) return true;
      if (this.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  private write(): Promise<void> {
    return this.storage.setItem(
      this.key,
      JSON.stringify({ owner: this.owner, expiresAt: this.now() + this.ttlMs }),
    );
  }

  private startRenewing(): void {
    if (this.timer) return;
    this.timer = setInterval(
      () =>
        void (async () => {
          // Renew only a lease still ours: a lost lease stays lost (the store refuses writes).
          if (await this.held()) await this.write();
          else this.stopRenewing();
        })().catch(() => {}),
      Math.max(1, Math.floor(this.ttlMs / 3)),
    );
    (this.timer as { unref?: () => void }).unref?.();
  }

  private stopRenewing(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Gives the lease up (if ours), so another instance can take it at once. */
  async release(): Promise<void> {
    this.stopRenewing();
    if (await this.held()) await this.storage.removeItem(this.key);
  }
}

type QueueDoc = Pick<StoreState, "queue" | "deviceId" | "streamId" | "clock" | "seq">;
type RowsDoc = Pick<StoreState, "rows" | "cursors">;
const isObject = (v: unknown): v is Record<string, any> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function parse<T>(text: string | null, valid: (v: any) => boolean): T | null | "torn" {
  if (text === null) return null;
  try {
    const v = JSON.parse(text);
    return valid(v) ? (v as T) : "torn";
  } catch {
    return "torn";
  }
}

/**
 * The sync client's LocalStore over any HorizonStorage: two values, `<prefix>queue` (pending
 * edits, device clock, op stream) and `<prefix>rows` (pulled rows and cursors), each written
 * whole. Every change is computed on a copy and becomes the store's state only after the write
 * resolved, so a failed write leaves memory and storage agreeing on the state before it (the
 * sync client then rejects the edit: refused, never half-saved). With a lease, every write first
 * checks this instance still owns the queue (StoreLockedError otherwise).
 */
export class KvSyncStore implements LocalStore {
  private state: StoreState | null = null;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly storage: HorizonStorage,
    private readonly prefix = "horizon:sync:",
    private readonly lease?: StorageLease,
  ) {}

  private get queueKey() {
    return `${this.prefix}queue`;
  }
  private get rowsKey() {
    return `${this.prefix}rows`;
  }

  private async ensure(): Promise<StoreState> {
    if (this.closed) throw new Error("store is closed");
    if (this.state) return this.state;
    const state = emptyState();
    const damaged: string[] = [];
    const q = parse<QueueDoc>(
      await this.storage.getItem(this.queueKey),
      (v) => isObject(v) && Array.isArray(v.queue) && typeof v.seq === "number",
    );
    const r = parse<RowsDoc>(
      await this.storage.getItem(this.rowsKey),
      (v) => isObject(v) && isObject(v.rows) && isObject(v.cursors),
    );
    // A torn queue loses its edits and stream position: the client starts a new stream.
    if (q === "torn") damaged.push(await this.setAside(this.queueKey));
    else if (q)
      Object.assign(state, {
        queue: q.queue,
        deviceId: q.deviceId ?? null,
        streamId: q.streamId ?? null,
        clock: q.clock ?? null,
        seq: q.seq,
      });
    if (r === "torn") damaged.push(await this.setAside(this.rowsKey));
    else if (r) Object.assign(state, { rows: r.rows, cursors: r.cursors });
    if (damaged.length) state.damaged = damaged;
    this.state = state;
    return state;
  }

  private async setAside(key: string): Promise<string> {
    const aside = `${key}.torn-${Date.now()}`;
    const text = await this.storage.getItem(key);
    if (text !== null) await this.storage.setItem(aside, text);
    await this.storage.removeItem(key);
    return aside;
  }

  /** Computes the next state on a copy, writes it, and only then adopts it. */
  private change(
    mutate: (next: StoreState) => void,
    which: { queue?: boolean; rows?: boolean },
  ): Promise<void> {
    const run = this.chain.then(async () => {
      const current = await this.ensure();
      const next = structuredClone(current);
      mutate(next);
      if (this.lease && !(await this.lease.held())) throw new StoreLockedError();
      if (which.rows)
        await this.storage.setItem(this.rowsKey, JSON.stringify({ rows: next.rows, cursors: next.cursors }));
      if (which.queue) {
        const { queue, deviceId, streamId, clock, seq } = next;
        await this.storage.setItem(this.queueKey, JSON.stringify({ queue, deviceId, streamId, clock, seq }));
      }
      this.state = next;
    });
    this.chain = run.catch(() => {
      // A failed write may have landed one value and not the other: read both again next time.
      this.state = null;
    });
    return run;
  }

  async load(): Promise<StoreState> {
    await this.chain;
    return structuredClone(await this.ensure());
  }

  enqueue(ops: QueuedOp[], meta: StoreMeta): Promise<void> {
    return this.change(
      (s) => {
        s.queue.push(...structuredClone(ops));
        Object.assign(s, meta);
      },
      { queue: true },
    );
  }

  updateQueue(update: QueueUpdate): Promise<void> {
    return this.change((s) => applyQueueUpdate(s, structuredClone(update)), { queue: true });
  }

  applyPull(page: PullPage): Promise<void> {
    return this.change((s) => applyPullPage(s, structuredClone(page)), { rows: true });
  }

  async close(): Promise<void> {
    await this.chain;
    this.closed = true;
    await this.lease?.release();
  }
}
