/**
 * Prepares the migrated PGlite template a new DATA_DIR starts from (src/platform/db/pglite-template.ts),
 * so the first `npm start` of a clone loads it (~3 s here) instead of running PGlite's initdb and
 * every migration (~7 s). `npm install` runs this (package.json `postinstall`); it never fails an
 * install: without a template the first start runs initdb and writes one itself.
 *
 *   bun scripts/db/pglite-template.ts      # PGLITE_TEMPLATE_DIR moves it, as for the hosts
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseConfig } from "../../src/config";
import { createPgliteDatabase } from "../../src/platform/db/pglite";
import { pgliteTemplatePath } from "../../src/platform/db/pglite-template";

const MIGRATIONS_FOLDER = fileURLToPath(new URL("../../drizzle", import.meta.url));

/** The template's path, written now unless it was there already. */
export async function preparePgliteTemplate(dir?: string): Promise<{ path: string; written: boolean }> {
  const template = { migrationsFolder: MIGRATIONS_FOLDER, ...(dir ? { dir } : {}) };
  const path = pgliteTemplatePath(MIGRATIONS_FOLDER, { dir });
  if (existsSync(path)) return { path, written: false };
  // A scratch data directory: initdb, the migrations, then the dump (createPgliteDatabase writes
  // the template after migrate, as on a host's first start); the directory itself is thrown away.
  const dataDir = mkdtempSync(join(tmpdir(), "horizon-pglite-scratch-"));
  const failures: unknown[] = [];
  try {
    const db = await createPgliteDatabase({
      dataDir: join(dataDir, "pglite"),
      template,
      logger: { warn: (fields: unknown) => failures.push(fields) },
    });
    try {
      await db.migrate(MIGRATIONS_FOLDER);
    } finally {
      await db.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  if (failures.length || !existsSync(path))
    throw new Error(`template not written: ${JSON.stringify(failures)}`);
  return { path, written: true };
}

if ((import.meta as { main?: boolean }).main ?? process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = performance.now();
  preparePgliteTemplate(parseConfig(process.env).PGLITE_TEMPLATE_DIR).then(
    ({ path, written }) => {
      const took = ((performance.now() - started) / 1000).toFixed(1);
      console.log(
        written ? `PGlite template written in ${took} s: ${path}` : `PGlite template ready: ${path}`,
      );
    },
    (err: unknown) => {
      // Never fails an install: the first start runs initdb instead.
      console.warn(`PGlite template not prepared (the first npm start will run initdb): ${String(err)}`);
    },
  );
}
