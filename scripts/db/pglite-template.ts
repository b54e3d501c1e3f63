/**
 * Prepares the migrated PGlite template a new DATA_DIR starts from (src/platform/db/pglite-template.ts),
 * so the first `npm start` of a clone loads it (~3 s here) instead of running PGlite's initdb and
 * every migration (~7 s). `npm install` runs this (package.json `postinstall`); it never fails an
 * install: without a template the first start runs initdb and writes one itself.
 *
 *   bun scripts/db/pglite-template.ts      # PGLITE_TEMPLATE_DIR moves it, as for the hosts
 */
import { fileURLToPath } from "node:url";
import { parseConfig } from "../../src/config";
import { preparePgliteTemplate } from "../../src/platform/db/pglite";

const MIGRATIONS_FOLDER = fileURLToPath(new URL("../../drizzle", import.meta.url));

const started = performance.now();
preparePgliteTemplate(MIGRATIONS_FOLDER, { dir: parseConfig(process.env).PGLITE_TEMPLATE_DIR }).then(
  ({ path, written }) => {
    const took = ((performance.now() - started) / 1000).toFixed(1);
    console.log(written ? `PGlite template written in ${took} s: ${path}` : `PGlite template ready: ${path}`);
  },
  (err: unknown) => {
    // Never fails an install: the first start runs initdb instead.
    console.warn(`PGlite template not prepared (the first npm start will run initdb): ${String(err)}`);
  },
);
