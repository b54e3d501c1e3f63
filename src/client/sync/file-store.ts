/**
 * Durable store for Node (and Bun): two JSON files in a folder, `queue.json` (pending edits and
 * the device clock) and `rows.json` (pulled rows and cursors). Each write goes to a temp file that
 * is fsynced and then renamed over the old one, so a crash leaves either the old or the new file,
 * never a torn one. Enqueueing rewrites only the small queue file. The only SDK file that imports
 * Node modules.
 */
import { mkdir, open, readFile, rename } from "node:fs/promises";
import { join } from "node:path";
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

async function atomicWrite(path: string, data: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  const fh = await open(tmp, "w");
  try {
    await fh.writeFile(data, "utf8");
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

async function readJson<T>(path: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

export class FileStore implements LocalStore {
  private state: StoreState | null = null;
  /** Writes are serialized so a later write never lands before an earlier one. */
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly dir: string) {}

  private get queuePath() {
    return join(this.dir, "queue.json");
  }
  private get rowsPath() {
    return join(this.dir, "rows.json");
  }

  private async ensure(): Promise<StoreState> {
    if (this.closed) throw new Error("store is closed");
    if (this.state) return this.state;
    await mkdir(this.dir, { recursive: true });
    const state = emptyState();
    const q = await readJson<Pick<StoreState, "queue" | "deviceId" | "clock" | "seq">>(this.queuePath);
    const r = await readJson<Pick<StoreState, "rows" | "cursors">>(this.rowsPath);
    if (q) Object.assign(state, { queue: q.queue, deviceId: q.deviceId, clock: q.clock, seq: q.seq });
    if (r) Object.assign(state, { rows: r.rows, cursors: r.cursors });
    this.state = state;
    return state;
  }

  private write(which: { queue?: boolean; rows?: boolean }): Promise<void> {
    const s = this.state!;
    const queue = which.queue
      ? JSON.stringify({ queue: s.queue, deviceId: s.deviceId, clock: s.clock, seq: s.seq })
      : null;
    const rows = which.rows ? JSON.stringify({ rows: s.rows, cursors: s.cursors }) : null;
    const run = this.chain.then(async () => {
      if (rows !== null) await atomicWrite(this.rowsPath, rows);
      if (queue !== null) await atomicWrite(this.queuePath, queue);
    });
    this.chain = run.catch(() => {});
    return run;
  }

  async load(): Promise<StoreState> {
    return structuredClone(await this.ensure());
  }

  async enqueue(ops: QueuedOp[], meta: StoreMeta): Promise<void> {
    const s = await this.ensure();
    s.queue.push(...structuredClone(ops));
    Object.assign(s, meta);
    await this.write({ queue: true });
  }

  async updateQueue(update: QueueUpdate): Promise<void> {
    applyQueueUpdate(await this.ensure(), update);
    await this.write({ queue: true });
  }

  async applyPull(page: PullPage): Promise<void> {
    applyPullPage(await this.ensure(), structuredClone(page));
    await this.write({ rows: true });
  }

  async close(): Promise<void> {
    await this.chain;
    this.closed = true;
  }
}
