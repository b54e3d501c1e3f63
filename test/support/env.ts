/** Where the test suite finds the machine's real services. Overridable for other machines. */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

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
export function migrationsHash(): string {
  const h = createHash("sha256");
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else h.update(entry.name).update(readFileSync(path));
    }
  };
  walk(MIGRATIONS_FOLDER);
  return h.digest("hex");
}

/**
 * The migrated PGlite data directory (an uncompressed dumpDataDir tarball) the global setup writes
 * once per migration set and PGlite release (its data directory format follows its Postgres): a
 * test database loads it (~1 s of CPU) instead of running initdb and every migration (~5 s) in
 * each test file.
 */
export function pgliteTemplatePath(hash = migrationsHash()): string {
  const { version } = JSON.parse(
    readFileSync(new URL("../../node_modules/@electric-sql/pglite/package.json", import.meta.url), "utf8"),
  ) as { version: string };
  return join(tmpdir(), `horizon-pglite-template-${version}-${hash.slice(0, 16)}.tar`);
}
