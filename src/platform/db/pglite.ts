/** PGlite adapter: embedded Postgres (WASM). In-memory when no data directory is given. */
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { btree_gist } from "@electric-sql/pglite/contrib/btree_gist";
import { drizzle } from "drizzle-orm/pglite";
import { migrate } from "drizzle-orm/pglite/migrator";
import { measureDb } from "../../context";
import * as schema from "../../db/schema";
import type { Logger } from "../log";
import type { Database, Db } from "./index";
import {
  discardPgliteTemplate,
  pgliteTemplatePath,
  readPgliteTemplate,
  type TemplateOptions,
  writePgliteTemplate,
} from "./pglite-template";

type Queryable = Pick<PGlite, "query" | "exec">;

function instrument<T extends Queryable>(client: T): T {
  const query = client.query.bind(client);
  const exec = client.exec.bind(client);
  client.query = ((...args: Parameters<PGlite["query"]>) => measureDb(() => query(...args))) as T["query"];
  client.exec = ((...args: Parameters<PGlite["exec"]>) => measureDb(() => exec(...args))) as T["exec"];
  return client;
}

// btree_gist: the exclusion constraint of the op records (migration 0009).
const extensions = { btree_gist };

export interface PgliteOptions {
  /** On disk (kept across restarts); in memory without. */
  dataDir?: string;
  client?: PGlite;
  /**
   * The migrations folder the caller will migrate with (and the templates' folder): a new
   * `dataDir` (absent or empty) starts from the migrated template of that folder
   * (./pglite-template.ts) when one was written, and writes it after `migrate(folder)` when none was.
   */
  template?: { migrationsFolder: string; dir?: string };
  /** Hears a template that failed to load or to be written (the start goes on without it). */
  logger?: Pick<Logger, "warn">;
}

const isNewDir = (dir: string) => !existsSync(dir) || readdirSync(dir).length === 0;

export async function createPgliteDatabase(options: PgliteOptions = {}): Promise<Database> {
  if (options.client) return wrapPglite(options.client);
  const { dataDir, template, logger } = options;
  if (!dataDir || !template || !isNewDir(dataDir))
    return wrapPglite(await PGlite.create({ ...(dataDir ? { dataDir } : {}), extensions }));
  const path = pgliteTemplatePath(template.migrationsFolder, { dir: template.dir });
  const dump = readPgliteTemplate(path);
  if (dump) {
    try {
      return wrapPglite(await PGlite.create({ dataDir, loadDataDir: dump, extensions }));
    } catch (err) {
      // The directory was new: what the failed load left in it is ours to clear (its contents,
      // not the directory, which may be a mount point).
      logger?.warn(
        { event: "pglite_template_failed", path, err },
        "PGlite template did not load; running initdb",
      );
      discardPgliteTemplate(path);
      if (existsSync(dataDir))
        for (const entry of readdirSync(dataDir))
          rmSync(join(dataDir, entry), { recursive: true, force: true });
    }
  }
  const client = await PGlite.create({ dataDir, extensions });
  let unwritten = true;
  return wrapPglite(client, async (folder) => {
    if (!unwritten || folder !== template.migrationsFolder) return;
    unwritten = false;
    await writePgliteTemplate(client, path).catch((err: unknown) =>
      logger?.warn({ event: "pglite_template_unwritten", path, err }, "PGlite template not written"),
    );
  });
}

/**
 * Writes the migrated template of `migrationsFolder` unless it is there already: initdb and the
 * migrations in memory, then the dump. `npm install` (scripts/db/pglite-template.ts) and the test
 * suite's global setup run it; a host's first start writes it through `createPgliteDatabase`.
 */
export async function preparePgliteTemplate(
  migrationsFolder: string,
  options: TemplateOptions = {},
): Promise<{ path: string; written: boolean }> {
  const path = pgliteTemplatePath(migrationsFolder, options);
  if (existsSync(path)) return { path, written: false };
  const client = await PGlite.create({ extensions });
  try {
    await wrapPglite(client).migrate(migrationsFolder);
    await writePgliteTemplate(client, path);
  } finally {
    await client.close();
  }
  return { path, written: true };
}

/** `afterMigrate` runs once the migrations of a `migrate(folder)` call are applied. */
export function wrapPglite(client: PGlite, afterMigrate?: (folder: string) => Promise<void>): Database {
  instrument(client);
  const transaction = client.transaction.bind(client);
  client.transaction = ((cb: Parameters<PGlite["transaction"]>[0]) =>
    transaction((tx) => cb(instrument(tx)))) as PGlite["transaction"];
  const db = drizzle(client, { schema }) as unknown as Db;
  return {
    kind: "pglite",
    db,
    client,
    async ping() {
      await client.query("select 1");
    },
    async migrate(migrationsFolder) {
      await migrate(db as never, { migrationsFolder });
      await afterMigrate?.(migrationsFolder);
    },
    async close() {
      if (!client.closed) await client.close();
    },
  } as Database & { client: PGlite };
}
