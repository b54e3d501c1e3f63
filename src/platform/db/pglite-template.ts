/**
 * A migrated PGlite data directory kept as a template: initdb in WASM and every migration cost
 * several seconds (4–5 s of initdb alone on a slow 2-core VM, ~1.3 s on a laptop); loading a
 * dumped data directory costs about a third of that. The standalone host starts a new DATA_DIR
 * from it (`createPgliteDatabase({ dataDir, template })`), and the test suite loads it for every
 * PGlite test database.
 *
 * One file per PGlite release and migration set (a dump is PGlite's own format, and a template
 * must hold exactly the migrations of this checkout), `horizon-pglite-template-<version>-<hash>.tar`
 * in the OS temporary directory (or config's `PGLITE_TEMPLATE_DIR`): written by whoever first
 * runs that set — a standalone start on an empty DATA_DIR, or the test suite's global setup —
 * under a private name and renamed, so a reader never sees half a file. Holds no data: it is
 * dumped right after the migrations, before anything is seeded or a secret is written. Writing
 * one removes the folder's templates older than a week (other migration sets or PGlite releases,
 * ~44 MB each; a checkout that still needs one writes it again) and partial files a killed write
 * left.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { PGlite } from "@electric-sql/pglite";

/** Hash of every file of a migrations folder (names and contents, sorted). */
export function migrationsHash(folder: string): string {
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
  walk(folder);
  return h.digest("hex");
}

let pgliteVersion: string | undefined;

function installedPgliteVersion(): string {
  if (pgliteVersion) return pgliteVersion;
  // The package exports no ./package.json: found beside its entry (dist/index.*).
  const entry = createRequire(import.meta.url).resolve("@electric-sql/pglite");
  const pkg = JSON.parse(readFileSync(join(dirname(entry), "..", "package.json"), "utf8"));
  pgliteVersion = (pkg as { version: string }).version;
  return pgliteVersion;
}

const PREFIX = "horizon-pglite-template-";

export interface TemplateOptions {
  /** Folder of the templates (default: the OS temporary directory). */
  dir?: string;
  /** The migrations hash, when the caller has it already. */
  hash?: string;
}

/** Where the template of `migrationsFolder` lives. */
export function pgliteTemplatePath(migrationsFolder: string, options: TemplateOptions = {}): string {
  const hash = options.hash ?? migrationsHash(migrationsFolder);
  return join(options.dir ?? tmpdir(), `${PREFIX}${installedPgliteVersion()}-${hash.slice(0, 16)}.tar`);
}

/**
 * The template as PGlite's `loadDataDir` takes it, or null when none was written yet (or its
 * folder cannot hold one: a file where a folder should be, which writing the template reports).
 */
export function readPgliteTemplate(path: string): Blob | null {
  try {
    return new Blob([readFileSync(path)]);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return null;
    throw err;
  }
}

/** Templates other than the one just written are removed after this long; partial files after an hour. */
const TEMPLATE_MAX_AGE_MS = 7 * 24 * 3600_000;
const PARTIAL_MAX_AGE_MS = 3600_000;

/** Dumps `client` (migrated, nothing else written yet) as the template at `path`. */
export async function writePgliteTemplate(client: PGlite, path: string): Promise<void> {
  const dump = await client.dumpDataDir("none");
  const partial = `${path}.${process.pid}.partial`;
  mkdirSync(dirname(path), { recursive: true });
  try {
    writeFileSync(partial, new Uint8Array(await dump.arrayBuffer()));
    renameSync(partial, path);
  } catch (err) {
    rmSync(partial, { force: true });
    throw err;
  }
  pruneTemplates(path);
}

/** Removes the stale templates and partial files beside `kept` (best effort: a race only costs a rewrite). */
function pruneTemplates(kept: string, now = Date.now()): void {
  const dir = dirname(kept);
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(PREFIX) || join(dir, name) === kept) continue;
    const maxAge = name.endsWith(".partial")
      ? PARTIAL_MAX_AGE_MS
      : name.endsWith(".tar")
        ? TEMPLATE_MAX_AGE_MS
        : null;
    if (maxAge === null) continue;
    try {
      if (now - statSync(join(dir, name)).mtimeMs > maxAge) rmSync(join(dir, name), { force: true });
    } catch {}
  }
}

/** Removes a template that failed to load, so the next start writes a good one. */
export function discardPgliteTemplate(path: string): void {
  rmSync(path, { force: true });
}
