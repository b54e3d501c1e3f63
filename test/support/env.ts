/** Where the test suite finds the machine's real services. Overridable for other machines. */
import { fileURLToPath } from "node:url";
import {
  migrationsHash as hashMigrations,
  pgliteTemplatePath as templatePathOf,
} from "../../src/platform/db/pglite-template";

export const PG_ADMIN_URL = process.env.TEST_PG_URL ?? "postgres://postgres:postgres@127.0.0.1:5432/test";
export const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
export const TEMPLATE_DB = "horizon_test_template";

export function pgUrlFor(database: string): string {
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

export const MIGRATIONS_FOLDER = fileURLToPath(new URL("../../drizzle", import.meta.url));

/** Hash of every migration file and the journal: the identity of both engines' templates. */
export const migrationsHash = (): string => hashMigrations(MIGRATIONS_FOLDER);

/**
 * The migrated PGlite data directory (an uncompressed dumpDataDir tarball) the global setup writes
 * once per migration set and PGlite release, where the standalone host finds it too
 * (src/platform/db/pglite-template.ts): a test database loads it (~1 s of CPU) instead of running
 * initdb and every migration (~5 s) in each test file.
 */
export const pgliteTemplatePath = (hash = migrationsHash()): string =>
  templatePathOf(MIGRATIONS_FOLDER, { hash });
