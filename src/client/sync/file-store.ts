/**
 * Durable store for Node (and Bun): two JSON files in a folder, `queue.json` (pending edits, the
 * device clock and the op stream) and `rows.json` (pulled rows and cursors). Each write goes to a
 * temp file that is fsynced and then renamed over the old one, and the folder is fsynced so the
 * rename itself survives a power cut: a crash leaves either the old or the new file. A file found
 * torn anyway (a filesystem that broke that promise, a half-copied backup) is set aside and the
 * store starts that part over — a new op stream, a fresh snapshot — instead of refusing to open.
 * Enqueueing rewrites only the small queue file. The only SDK file that imports Node modules.
 */
import { mkdir, open, readdir, readFile, rename, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
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
  await syncDir(dirname(path));
}

/** Makes a rename in `dir` durable (POSIX); platforms that cannot open a folder (Windows) skip it. */
async function syncDir(dir: string): Promise<void> {
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  try {
    fh = await open(dir, "r");
    await fh.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "EISDIR" && code !== "EPERM" && code !== "EACCES" && code !== "EINVAL") throw err;
  } finally {
    await fh?.close();
  }
}

/** A file's JSON: null when absent, "torn" when it cannot be parsed or lacks what `valid` wants. */
async function readJson<T>(path: string, valid: (v: any) => boolean): Promise<T | null | "torn"> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  try {
    const value = JSON.parse(text);
    return valid(value) ? (value as T) : "torn";
  } catch {
    return "torn";
  }
}

type QueueFile = Pick<StoreState, "queue" | "deviceId" | "streamId" | "clock" | "seq">;
type RowsFile = Pick<StoreState, "rows" | "cursors">;
const isObject = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v);

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
    // Temp files are writes a crashed process never renamed into place: never part of the state.
    for (const name of await readdir(this.dir))
      if (name.endsWith(".tmp")) await unlink(join(this.dir, name)).catch(() => {});
    const state = emptyState();
    const damaged: string[] = [];
    const q = await readJson<QueueFile>(
      this.queuePath,
      (v) => isObject(v) && Array.isArray(v.queue) && typeof v.seq === "number",
    );
    const r = await readJson<RowsFile>(
      this.rowsPath,
      (v) => isObject(v) && isObject(v.rows) && isObject(v.cursors),
    );
    // A torn queue loses its edits and its stream position; the client then starts a new stream,
    // so the seqs issued again cannot collide with ops the server has already recorded.
    if (q === "torn") damaged.push(await this.setAside("queue.json"));
    else if (q)
      Object.assign(state, {
        queue: q.queue,
        deviceId: q.deviceId ?? null,
        streamId: q.streamId ?? null,
        clock: q.clock ?? null,
        seq: q.seq,
      });
    // Torn rows only cost a fresh snapshot: the cursors go with them.
    if (r === "torn") damaged.push(await this.setAside("rows.json"));
    else if (r) Object.assign(state, { rows: r.rows, cursors: r.cursors });
    if (damaged.length) state.damaged = damaged;
    this.state = state;
    return state;
  }

  /** Renames an unreadable file out of the way (kept for inspection) and returns its new name. */
  private async setAside(name: string): Promise<string> {
    const aside = `${name}.torn-${Date.now()}`;
    await rename(join(this.dir, name), join(this.dir, aside));
    return aside;
  }

  private write(which: { queue?: boolean; rows?: boolean }): Promise<void> {
    const s = this.state!;
    const queue = which.queue
      ? JSON.stringify({
          queue: s.queue,
          deviceId: s.deviceId,
          streamId: s.streamId,
          clock: s.clock,
          seq: s.seq,
        })
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
    applyQueueUpdate(await this.ensure(), structuredClone(update));
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
