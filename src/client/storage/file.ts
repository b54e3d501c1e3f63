/**
 * Node and Bun storage: one file per key in a folder. A write goes to a temp file that is
 * fsynced, renamed over the old one, and the folder fsynced, so a crash leaves the old value or
 * the new, never a torn one. Writes to one key are serialized. The only SDK entry that imports
 * Node modules: import it from `@horizon/client/storage/file`, never from app code bundled for
 * browsers or React Native.
 */
import { mkdir, open, readdir, readFile, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { HorizonStorage } from "./index";

const fileOf = (key: string) => `${encodeURIComponent(key).replaceAll(".", "%2E")}.json`;

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

export class FileStorage implements HorizonStorage {
  private ready: Promise<void> | null = null;
  private readonly chains = new Map<string, Promise<void>>();

  constructor(readonly dir: string) {}

  private ensure(): Promise<void> {
    this.ready ??= (async () => {
      await mkdir(this.dir, { recursive: true });
      // Temp files are writes a crashed process never renamed into place.
      for (const name of await readdir(this.dir))
        if (name.endsWith(".tmp")) await unlink(join(this.dir, name)).catch(() => {});
    })();
    return this.ready;
  }

  private serial(key: string, work: () => Promise<void>): Promise<void> {
    const run = (this.chains.get(key) ?? Promise.resolve()).then(work);
    this.chains.set(
      key,
      run.catch(() => {}),
    );
    return run;
  }

  async getItem(key: string): Promise<string | null> {
    await this.ensure();
    await this.chains.get(key);
    try {
      return await readFile(join(this.dir, fileOf(key)), "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
  }

  setItem(key: string, value: string): Promise<void> {
    return this.serial(key, async () => {
      await this.ensure();
      const path = join(this.dir, fileOf(key));
      const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
      const fh = await open(tmp, "w");
      try {
        await fh.writeFile(String(value), "utf8");
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, path);
      await syncDir(this.dir);
    });
  }

  removeItem(key: string): Promise<void> {
    return this.serial(key, async () => {
      await this.ensure();
      await unlink(join(this.dir, fileOf(key))).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== "ENOENT") throw err;
      });
      await syncDir(this.dir);
    });
  }
}

export function fileStorage(dir: string): FileStorage {
  return new FileStorage(dir);
}
