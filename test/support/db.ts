/**
 * Fresh databases for tests, on both engines the suite covers:
 *  - pglite: a new in-memory instance loaded from the migrated data directory the global setup
 *    dumped (./env.ts `pgliteTemplatePath`); outside the test runner (benchmarks), one instance
 *    migrated per process and cloned;
 *  - pg: a new database on the local PostgreSQL, cloned from the migrated template.
 * Each test creates its own building and users, so databases may also be shared within a file.
 */
import { PGlite } from "@electric-sql/pglite";
import { btree_gist } from "@electric-sql/pglite/contrib/btree_gist";
import pg from "pg";
import type { Database } from "../../src/platform/db";
import { createPgDatabase } from "../../src/platform/db/pg";
import { createPgliteDatabase, wrapPglite } from "../../src/platform/db/pglite";
import { readPgliteTemplate } from "../../src/platform/db/pglite-template";
import { MIGRATIONS_FOLDER, PG_ADMIN_URL, pgliteTemplatePath, pgUrlFor, TEMPLATE_DB } from "./env";

export { MIGRATIONS_FOLDER };
export type DbKind = "pglite" | "pg";
export const DB_KINDS: DbKind[] = ["pglite", "pg"];

let pgliteTemplate: Promise<PGlite> | undefined;

async function pgliteBase(): Promise<PGlite> {
  pgliteTemplate ??= (async () => {
    const db = (await createPgliteDatabase()) as Database & { client: PGlite };
    await db.migrate(MIGRATIONS_FOLDER);
    return db.client;
  })();
  return pgliteTemplate;
}

let templateDump: Blob | null | undefined;

/** The global setup's dump, read once per test file; null when there is none (benchmarks). */
function pgliteDump(): Blob | null {
  if (templateDump === undefined) {
    templateDump = readPgliteTemplate(pgliteTemplatePath());
  }
  return templateDump;
}

let counter = 0;

export async function createTestDatabase(kind: DbKind): Promise<Database> {
  if (kind === "pglite") {
    const dump = pgliteDump();
    if (dump) return wrapPglite(await PGlite.create({ loadDataDir: dump, extensions: { btree_gist } }));
    const base = await pgliteBase();
    return wrapPglite((await base.clone()) as PGlite);
  }
  const name = `horizon_t_${process.pid}_${Date.now().toString(36)}_${counter++}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`create database "${name}" template "${TEMPLATE_DB}"`);
  } finally {
    await admin.end();
  }
  const database = createPgDatabase({ url: pgUrlFor(name), max: 5 });
  const close = database.close.bind(database);
  return {
    ...database,
    async close() {
      await close();
      const a = new pg.Client({ connectionString: PG_ADMIN_URL });
      await a.connect();
      await a.query(`drop database if exists "${name}" with (force)`).finally(() => a.end());
    },
  };
}
