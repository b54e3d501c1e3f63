/**
 * Local storage of the sync SDK. A store keeps the server rows the device has pulled, the cursor
 * per building, and the queue of edits not yet confirmed by a pull. Every method resolves only
 * once its change is durable, so an edit the app was told succeeded survives a crash. Stores
 * share the pure state transitions below; they differ only in where the state lives.
 */
import type { PushOp, SyncEntity, SyncRow } from "../../protocol/sync";

export interface QueuedOp extends PushOp {
  buildingId: string;
  /** Set once the server applied it: the op stays (replayed on top) until a pull reaches this version. */
  ackedVersion?: number;
  /** The id it was first pushed under, when the server refused that id as used by another install. */
  reissuedFrom?: string;
}

export interface StoreMeta {
  deviceId: string | null;
  /**
   * Random id of this store's op stream (op ids are `<streamId>:<seq>`). It lives and dies with
   * the queue: a reinstall or cleared app data starts a new stream even when the app passes the
   * same device id again, so a restarted seq can never reuse an op id the server has recorded.
   * Null in stores written before streams existed; the client gives them one on open.
   */
  streamId: string | null;
  /** Last HLC issued by this device (restored so clocks never go back after a restart). */
  clock: string | null;
  /** Ops issued so far on this stream. */
  seq: number;
}

export interface StoreState extends StoreMeta {
  cursors: Record<string, number | null>;
  rows: Partial<Record<SyncEntity, Record<string, SyncRow>>>;
  queue: QueuedOp[];
  /** Files the store found unreadable (a torn write) and set aside on load, so the app can say so. */
  damaged?: string[];
}

export interface PullPage {
  /** Buildings whose local rows are dropped before the upserts (snapshot or lost access). */
  reset: string[];
  upserts: Array<{ entity: SyncEntity; row: SyncRow }>;
  deletes: Array<{ entity: SyncEntity; id: string }>;
  cursors: Record<string, number | null>;
  /** Buildings the device no longer syncs (cursor removed). */
  forget: string[];
}

export interface QueueUpdate {
  remove: string[];
  ack: Record<string, number>;
  /** Ops given a new id (old id → new id), in place; `meta` is then written in the same step. */
  reissue?: Record<string, string>;
  meta?: StoreMeta;
}

export interface LocalStore {
  load(): Promise<StoreState>;
  /** Durably appends ops and the meta that issued them, before the app hears of success. */
  enqueue(ops: QueuedOp[], meta: StoreMeta): Promise<void>;
  updateQueue(update: QueueUpdate): Promise<void>;
  /** Applies one pull page atomically (rows, deletes, resets, cursors). */
  applyPull(page: PullPage): Promise<void>;
  close(): Promise<void>;
}

export function emptyState(): StoreState {
  return { deviceId: null, streamId: null, clock: null, seq: 0, cursors: {}, rows: {}, queue: [] };
}

export function applyQueueUpdate(state: StoreState, update: QueueUpdate): void {
  const gone = new Set(update.remove);
  const renamed = update.reissue ?? {};
  state.queue = state.queue
    .filter((op) => !gone.has(op.opId))
    .map((op) =>
      renamed[op.opId] !== undefined ? { ...op, opId: renamed[op.opId]!, reissuedFrom: op.opId } : op,
    )
    .map((op) => (update.ack[op.opId] !== undefined ? { ...op, ackedVersion: update.ack[op.opId] } : op));
  if (update.meta) Object.assign(state, update.meta);
}

/** Applies a pull page to `state`; returns the keys (`entity:id`) whose rows changed. */
export function applyPullPage(state: StoreState, page: PullPage): void {
  const dropped = new Set([...page.reset, ...page.forget]);
  if (dropped.size) {
    for (const rows of Object.values(state.rows)) {
      for (const [id, row] of Object.entries(rows ?? {})) if (dropped.has(row.buildingId)) delete rows![id];
    }
  }
  for (const { entity, row } of page.upserts) {
    let rows = state.rows[entity];
    if (!rows) state.rows[entity] = rows = {};
    rows[row.id] = row;
  }
  for (const { entity, id } of page.deletes) delete state.rows[entity]?.[id];
  for (const b of page.forget) delete state.cursors[b];
  Object.assign(state.cursors, page.cursors);
}

const clone = <T>(v: T): T => structuredClone(v);

/** Keeps everything in memory: for tests, and for apps that accept losing edits on restart. */
export class MemoryStore implements LocalStore {
  private state = emptyState();
  private closed = false;

  private check(): void {
    if (this.closed) throw new Error("store is closed");
  }

  async load(): Promise<StoreState> {
    this.check();
    return clone(this.state);
  }

  async enqueue(ops: QueuedOp[], meta: StoreMeta): Promise<void> {
    this.check();
    this.state.queue.push(...clone(ops));
    Object.assign(this.state, meta);
  }

  async updateQueue(update: QueueUpdate): Promise<void> {
    this.check();
    applyQueueUpdate(this.state, clone(update));
  }

  async applyPull(page: PullPage): Promise<void> {
    this.check();
    applyPullPage(this.state, clone(page));
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
