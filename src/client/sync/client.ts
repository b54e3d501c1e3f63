/**
 * The sync client: optimistic local edits, a durable queue, and a push-then-pull loop.
 *  - An edit is written to the store's queue before its promise resolves.
 *  - Visible state = pulled server rows with queued ops replayed on top; an applied op stays in
 *    the queue until a pull reaches the version it was written at, so the UI never flickers back.
 *  - A failed cycle retries after exponential backoff with jitter (design property 24); cycles
 *    also run on an interval, when the device comes back online, and on `syncNow()` (the hook the
 *    realtime client calls when its building room pokes).
 * Runs on browsers, React Native, Bun and Node: no Node-only imports, the transport is `fetch`.
 */

import {
  type OpResult,
  type PullResponse,
  type PushResponse,
  SYNC_ENTITIES,
  type SyncEntity,
  type SyncRow,
} from "../../protocol/sync";
import { formatHlc, HlcClock, parseHlc } from "./hlc";

import {
  applyPullPage,
  applyQueueUpdate,
  type LocalStore,
  type QueuedOp,
  type StoreMeta,
  type StoreState,
} from "./store";
import {
  backoffDelay,
  type RejectedOp,
  retryAfterMs,
  type SyncClientOptions,
  SyncEmitter,
  type SyncEvents,
  SyncHttpError,
} from "./support";
import { visibleRows } from "./view";

const SYNCED: ReadonlySet<string> = new Set(SYNC_ENTITIES);

/** The API base: the server origin or the origin with `/api/vN` both work (one base URL form for the whole SDK). */
const apiBase = (url: string) => {
  const u = url.replace(/\/+$/, "");
  return /\/api\/v\d+$/.test(u) ? u : `${u}/api/v1`;
};

/** 128 random bits: no two installs (or wiped and reinstalled stores) share a stream. */
const newStreamId = () => `s${crypto.randomUUID().replaceAll("-", "")}`;

export class SyncClient extends SyncEmitter {
  private state!: StoreState;
  private clock!: HlcClock;
  private running: Promise<void> | null = null;
  private again = false;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private intervalTimer: ReturnType<typeof setInterval> | null = null;
  private stopped = true;
  private readonly fetchFn: typeof fetch;
  private readonly now: () => number;
  private readonly timers: NonNullable<SyncClientOptions["timers"]>;
  private readonly onOnline = () => void this.syncNow().catch(() => {});
  /** Delay of the retry currently scheduled (ms), for UIs and tests. */
  nextRetryMs: number | null = null;

  private constructor(private readonly opts: SyncClientOptions) {
    super();
    this.fetchFn = opts.fetch ?? ((...args) => fetch(...args));
    this.now = opts.now ?? Date.now;
    this.timers = opts.timers ?? { setTimeout, clearTimeout, setInterval, clearInterval };
  }

  /** Opens the store (restoring queue, rows, cursors and clock) and returns a ready client. */
  static async open(opts: SyncClientOptions): Promise<SyncClient> {
    const client = new SyncClient(opts);
    client.state = await opts.store.load();
    // A store without a stream (new, wiped, or written before streams) starts one; ops it has
    // queued already keep their ids, so a retry of them is still answered as a replay.
    if (!client.state.deviceId || !client.state.streamId) {
      client.state.deviceId ??= opts.deviceId ?? `d-${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
      client.state.streamId ??= newStreamId();
      await opts.store.enqueue([], client.meta());
    }
    client.clock = new HlcClock(client.state.deviceId, client.now, parseHlc(client.state.clock));
    for (const b of opts.buildings) if (!(b in client.state.cursors)) client.state.cursors[b] = null;
    return client;
  }

  get deviceId(): string {
    return this.state.deviceId!;
  }

  /** This store's op stream: op ids are `<streamId>:<seq>`, unique to this install. */
  get streamId(): string {
    return this.state.streamId!;
  }

  /** Files the store found torn and set aside when it opened (their edits are gone): tell the user. */
  get damaged(): string[] {
    return [...(this.state.damaged ?? [])];
  }

  private meta(): StoreMeta {
    const { deviceId, streamId, clock, seq } = this.state;
    return { deviceId, streamId, clock, seq };
  }

  get store(): LocalStore {
    return this.opts.store;
  }

  /** Queued ops not yet confirmed by a pull. */
  pending(): number {
    return this.state.queue.length;
  }

  cursors(): Record<string, number | null> {
    return { ...this.state.cursors };
  }

  /** Visible rows of an entity: server state with queued edits replayed on top. */
  list(entity: SyncEntity): SyncRow[] {
    return Object.values(visibleRows(this.state, entity));
  }

  get(entity: SyncEntity, id: string): SyncRow | undefined {
    return visibleRows(this.state, entity)[id];
  }

  /** Rows as last pulled from the server, without local edits. */
  serverRows(entity: SyncEntity): SyncRow[] {
    return Object.values(this.state.rows[entity] ?? {});
  }

  async create(
    entity: SyncEntity,
    fields: Record<string, unknown> & { buildingId: string },
    id = crypto.randomUUID(),
  ): Promise<string> {
    await this.enqueue({ type: "create", entity, id, fields, buildingId: fields.buildingId });
    return id;
  }

  async update(entity: SyncEntity, id: string, fields: Record<string, unknown>): Promise<void> {
    await this.enqueue({ type: "update", entity, id, fields, buildingId: this.buildingOf(entity, id) });
  }

  async delete(entity: SyncEntity, id: string): Promise<void> {
    await this.enqueue({ type: "delete", entity, id, buildingId: this.buildingOf(entity, id) });
  }

  private buildingOf(entity: SyncEntity, id: string): string {
    const row = this.get(entity, id);
    if (!row) throw new Error(`${entity} ${id} is not known locally`);
    return row.buildingId;
  }

  private async enqueue(op: Omit<QueuedOp, "opId" | "hlc">): Promise<void> {
    const hlc = formatHlc(this.clock.tick());
    const seq = this.state.seq + 1;
    const queued: QueuedOp = { ...op, opId: `${this.streamId}:${seq}`, hlc };
    await this.opts.store.enqueue([queued], { ...this.meta(), clock: hlc, seq });
    // Only once durable does the edit become visible and the promise resolve.
    this.state.seq = seq;
    this.state.clock = hlc;
    this.state.queue.push(queued);
  }

  /** Starts interval and online triggers (and syncs once). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const every = this.opts.intervalMs ?? 30_000;
    if (every > 0)
      this.intervalTimer = this.timers.setInterval(() => void this.syncNow().catch(() => {}), every);
    globalThis.addEventListener?.("online", this.onOnline);
    void this.syncNow().catch(() => {});
  }

  /** True once close() was called. */
  get closed(): boolean {
    return this.isClosed;
  }
  private isClosed = false;

  /** Stops syncing and closes the store (a storage lease is given up, so another instance may take the queue). */
  async close(): Promise<void> {
    this.stop();
    this.isClosed = true;
    await this.running?.catch(() => {});
    await this.opts.store.close();
  }

  stop(): void {
    this.stopped = true;
    if (this.intervalTimer) this.timers.clearInterval(this.intervalTimer);
    if (this.retryTimer) this.timers.clearTimeout(this.retryTimer);
    this.intervalTimer = this.retryTimer = null;
    globalThis.removeEventListener?.("online", this.onOnline);
  }

  /** Call when connectivity returns (React Native NetInfo, etc.); browsers fire `online` themselves. */
  online(): Promise<void> {
    return this.syncNow();
  }

  /**
   * Runs a push-then-pull cycle now. Concurrent callers share the running cycle, and one more
   * cycle follows it so a poke that arrived mid-cycle is never lost. Rejects when the cycle
   * fails (a retry is already scheduled).
   */
  syncNow(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const run = (async () => {
      try {
        do {
          this.again = false;
          await this.cycle();
        } while (this.again);
        this.running = null;
      } catch (error) {
        // Idle again before the UI hears of the failure, so a handler may call syncNow() at once.
        this.running = null;
        this.failed(error);
        throw error;
      }
    })();
    this.running = run;
    return run;
  }

  private async cycle(): Promise<void> {
    if (this.retryTimer) this.timers.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.nextRetryMs = null;
    this.emit("syncing", { pending: this.pending() });
    try {
      const pushed = await this.pushAll();
      const pulled = await this.pullAll();
      this.attempt = 0;
      this.emit("synced", { ...pushed, pulled, pending: this.pending() });
    } catch (error) {
      this.again = false;
      throw error;
    }
  }

  /** Schedules the next attempt after a failed cycle (the queue is untouched) and tells the UI. */
  private failed(error: unknown): void {
    this.attempt++;
    const backoff = backoffDelay(this.attempt, this.opts.backoff, this.opts.random ?? Math.random);
    // A server that says when to come back (429, 503) is not asked sooner.
    const delay = Math.max(backoff, error instanceof SyncHttpError ? (error.retryAfterMs ?? 0) : 0);
    this.nextRetryMs = delay;
    if (!this.stopped || this.opts.retryWhenStopped) {
      this.retryTimer = this.timers.setTimeout(() => void this.syncNow().catch(() => {}), delay);
    }
    this.emit("error", { error, attempt: this.attempt, retryInMs: delay, pending: this.pending() });
  }

  private async request<T>(path: string, body: unknown): Promise<T> {
    const token = await this.opts.token();
    const res = await this.fetchFn(`${apiBase(this.opts.baseUrl)}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    const data = (await res.json().catch(() => null)) as T & { code?: string };
    if (!res.ok)
      throw new SyncHttpError(
        res.status,
        data?.code ?? "HTTP_ERROR",
        data,
        retryAfterMs(res.headers.get("retry-after"), this.now()),
      );
    return data;
  }

  /**
   * Queued ops per synced entity, for the pull's `pending` map. An op naming an entity the
   * server does not sync is left out: the pull refuses invented keys (400), and the push will
   * answer that op rejected, so counting it would fail every pull until then.
   */
  private pendingByEntity(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const op of this.state.queue)
      if (op.ackedVersion === undefined && SYNCED.has(op.entity)) out[op.entity] = (out[op.entity] ?? 0) + 1;
    return out;
  }

  private async pushAll() {
    const counts = { pushed: 0, applied: 0, superseded: 0, rejected: 0 };
    const max = this.opts.maxOpsPerPush ?? 500;
    for (;;) {
      const batch = this.state.queue.filter((op) => op.ackedVersion === undefined).slice(0, max);
      if (batch.length === 0) return counts;
      const res = await this.request<PushResponse>("/sync/push", {
        deviceId: this.deviceId,
        ops: batch.map(({ opId, type, entity, id, fields, hlc }) => ({
          opId,
          type,
          entity,
          id,
          ...(fields ? { fields } : {}),
          hlc,
        })),
        pending: this.pendingByEntity(),
      });
      const remove: string[] = [];
      const ack: Record<string, number> = {};
      const lost: OpResult[] = [];
      const rejected: OpResult[] = [];
      const refused: RejectedOp[] = [];
      // OP_ID_REUSED: another install wrote ops under this stream (a restored backup, copied app
      // data), so the op was never applied. The store moves to a new stream and sends the op once
      // more under an id of it; so are the batch's later rejected ops, which may have failed only
      // for want of it (an edit of the row it creates).
      const reissue: Record<string, string> = {};
      let next: StoreMeta | undefined;
      res.results.forEach((r, i) => {
        const op = batch[i]!;
        counts.pushed++;
        counts[r.status]++;
        const retry =
          r.status === "rejected" && !op.reissuedFrom && (r.reason === "OP_ID_REUSED" || next !== undefined);
        if (retry) {
          next ??= { ...this.meta(), streamId: newStreamId() };
          next.seq++;
          reissue[op.opId] = `${next.streamId}:${next.seq}`;
        } else if (r.status === "applied" && r.version !== undefined) ack[op.opId] = r.version;
        else remove.push(op.opId);
        if (r.status === "superseded" || r.superseded?.length) lost.push(r);
        if (r.status === "rejected") {
          rejected.push(r);
          refused.push({
            op,
            reason: r.reason ?? "REJECTED",
            ...(r.detail !== undefined ? { detail: r.detail } : {}),
            ...(reissue[op.opId] ? { reissuedAs: reissue[op.opId] } : {}),
          });
        }
      });
      await this.opts.store.updateQueue({ remove, ack, ...(next ? { reissue, meta: next } : {}) });
      applyQueueUpdate(this.state, { remove, ack, reissue, ...(next ? { meta: next } : {}) });
      if (refused.length) this.emit("rejected", { ops: refused });
      if (lost.length || rejected.length)
        this.emit("conflict", { count: lost.length + rejected.length, superseded: lost, rejected });
    }
  }

  private async pullAll(): Promise<number> {
    let pulled = 0;
    if (Object.keys(this.state.cursors).length === 0) return pulled;
    for (let page = 0; page < 100_000; page++) {
      let res: PullResponse;
      try {
        res = await this.request<PullResponse>("/sync/pull", {
          deviceId: this.deviceId,
          buildings: this.state.cursors,
          ...(this.opts.pullLimit ? { limit: this.opts.pullLimit } : {}),
          pending: this.pendingByEntity(),
        });
      } catch (err) {
        if (err instanceof SyncHttpError && err.status === 410) {
          // Our cursor predates the kept tombstones: start those buildings over from a snapshot.
          const stale = ((err.body as { buildings?: string[] })?.buildings ??
            Object.keys(this.state.cursors)) as string[];
          for (const b of stale) this.state.cursors[b] = null;
          continue;
        }
        throw err;
      }
      const upserts: Array<{ entity: SyncEntity; row: SyncRow }> = [];
      const deletes: Array<{ entity: SyncEntity; id: string }> = [];
      for (const [entity, ch] of Object.entries(res.changes) as Array<
        [SyncEntity, NonNullable<PullResponse["changes"][SyncEntity]>]
      >) {
        for (const row of [...ch.created, ...ch.updated]) upserts.push({ entity, row });
        for (const id of ch.deleted) deletes.push({ entity, id });
      }
      const forget = Object.keys(res.errors ?? {});
      await this.opts.store.applyPull({
        reset: res.reset ?? [],
        upserts,
        deletes,
        cursors: res.cursors,
        forget,
      });
      const local = structuredClone({
        reset: res.reset ?? [],
        upserts,
        deletes,
        cursors: res.cursors,
        forget,
      });
      applyPullPage(this.state, local);
      if (res.clock) {
        const remote = parseHlc(res.clock);
        if (remote) this.clock.receive(remote);
      }
      pulled += upserts.length + deletes.length;
      await this.settleAcked(forget);
      if (!res.hasMore) return pulled;
    }
    return pulled;
  }

  /** Drops applied ops that the pulled state now contains (cursor reached their version). */
  private async settleAcked(forgotten: string[]): Promise<void> {
    const drop = new Set(forgotten);
    const remove = this.state.queue
      .filter((op) => {
        if (drop.has(op.buildingId)) return true;
        const c = this.state.cursors[op.buildingId];
        return op.ackedVersion !== undefined && c !== null && c !== undefined && c >= op.ackedVersion;
      })
      .map((op) => op.opId);
    if (remove.length === 0) return;
    await this.opts.store.updateQueue({ remove, ack: {} });
    const gone = new Set(remove);
    this.state.queue = this.state.queue.filter((op) => !gone.has(op.opId));
  }
}

export type { RejectedOp, SyncClientOptions, SyncEvents };
