/**
 * The migrated PGlite template a new data directory starts from (src/platform/db/pglite-template.ts,
 * `createPgliteDatabase({ dataDir, template })`, as the standalone host opens DATA_DIR/pglite):
 * written after the first initdb's migrations, loaded by the next new directory (already migrated,
 * none of another directory's rows), never used for a directory that exists, and discarded when it
 * does not load; and prepared by `npm install` (package.json's postinstall), which never fails the
 * install. Its own template directories, so the suite's is not touched.
 */
import { execFile } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import { readMigrationFiles } from "drizzle-orm/migrator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildings } from "../../src/db/schema";
import type { Database } from "../../src/platform/db";
import { createPgliteDatabase } from "../../src/platform/db/pglite";
import { pgliteTemplatePath } from "../../src/platform/db/pglite-template";
import { MIGRATIONS_FOLDER } from "../support/env";

describe("PGlite template for new data directories", () => {
  let root: string;
  let path: string;
  const open: Database[] = [];
  const warnings: Array<Record<string, unknown>> = [];
  const logger = {
    warn: (o: Record<string, unknown> | string) => warnings.push(typeof o === "string" ? { msg: o } : o),
  };
  const create = async (dir: string) => {
    const template = { migrationsFolder: MIGRATIONS_FOLDER, dir: join(root, "templates") };
    const db = await createPgliteDatabase({ dataDir: join(root, dir), template, logger });
    open.push(db);
    return db;
  };
  const applied = async (db: Database) => {
    const client = (db as Database & { client: { query: (q: string) => Promise<{ rows: unknown[] }> } })
      .client;
    const has = await client.query("select to_regclass('drizzle.__drizzle_migrations') as t");
    if ((has.rows[0] as { t: string | null }).t === null) return 0;
    return (await client.query("select id from drizzle.__drizzle_migrations")).rows.length;
  };
  const migrations = readMigrationFiles({ migrationsFolder: MIGRATIONS_FOLDER }).length;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), "horizon-pglite-template-test-"));
    path = pgliteTemplatePath(MIGRATIONS_FOLDER, { dir: join(root, "templates") });
  });
  afterAll(async () => {
    for (const db of open) await db.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("runs initdb when there is none, and writes it once the migrations are applied", async () => {
    expect(path.startsWith(join(root, "templates"))).toBe(true);
    // What earlier checkouts and killed writes left beside it: the write removes the stale ones.
    const templates = join(root, "templates");
    mkdirSync(templates, { recursive: true });
    const left = (name: string, ageMs: number) => {
      writeFileSync(join(templates, name), "x");
      const at = (Date.now() - ageMs) / 1000;
      utimesSync(join(templates, name), at, at);
      return name;
    };
    const day = 24 * 3600_000;
    const stale = left("horizon-pglite-template-0.5.0-aaaaaaaaaaaaaaaa.tar", 8 * day);
    const recent = left("horizon-pglite-template-0.5.0-bbbbbbbbbbbbbbbb.tar", 2 * day);
    const killed = left("horizon-pglite-template-0.5.0-cccccccccccccccc.tar.123.partial", 2 * 3600_000);
    const writing = left("horizon-pglite-template-0.5.0-dddddddddddddddd.tar.456.partial", 60_000);
    const foreign = left("someone-elses.tar", 30 * day);
    const db = await create("first");
    expect(await applied(db)).toBe(0);
    expect(existsSync(path)).toBe(false);
    await db.migrate(MIGRATIONS_FOLDER);
    expect(await applied(db)).toBe(migrations);
    expect(statSync(path).size).toBeGreaterThan(1_000_000);
    for (const gone of [stale, killed]) expect(existsSync(join(templates, gone)), gone).toBe(false);
    for (const kept of [recent, writing, foreign]) expect(existsSync(join(templates, kept)), kept).toBe(true);
    await db.db
      .insert(buildings)
      .values({ name: "First", addressLine: "1 A St", city: "Haifa", country: "IL" });
  });

  it("starts the next new directory from it: migrated before migrate runs, without another directory's rows", async () => {
    const written = statSync(path).mtimeMs;
    const db = await create("second");
    expect(await applied(db)).toBe(migrations);
    await db.migrate(MIGRATIONS_FOLDER);
    expect(await db.db.select().from(buildings)).toEqual([]);
    await db.db
      .insert(buildings)
      .values({ name: "Second", addressLine: "2 B St", city: "Haifa", country: "IL" });
    await db.close();
    // Opened again, the directory keeps its rows; the template is as it was.
    const again = await create("second");
    await again.migrate(MIGRATIONS_FOLDER);
    expect((await again.db.select().from(buildings)).map((b) => b.name)).toEqual(["Second"]);
    expect(statSync(path).mtimeMs).toBe(written);
  });

  it("discards a template that does not load, runs initdb and writes a good one", async () => {
    const good = readFileSync(path);
    writeFileSync(path, "not a data directory");
    warnings.length = 0;
    const db = await create("third");
    expect(warnings.map((w) => w.event)).toEqual(["pglite_template_failed"]);
    expect(existsSync(path)).toBe(false);
    await db.migrate(MIGRATIONS_FOLDER);
    expect(await applied(db)).toBe(migrations);
    expect(await db.db.select().from(buildings)).toEqual([]);
    expect(Math.abs(statSync(path).size - good.length)).toBeLessThan(good.length / 10);
  });
});

describe("a template folder that cannot exist", () => {
  it("does not stop a new data directory: initdb runs and the unwritten template is reported", async () => {
    const root = mkdtempSync(join(tmpdir(), "horizon-pglite-blocked-"));
    try {
      writeFileSync(join(root, "file"), "a file where the template folder should be");
      const warnings: Array<Record<string, unknown>> = [];
      const db = await createPgliteDatabase({
        dataDir: join(root, "data"),
        template: { migrationsFolder: MIGRATIONS_FOLDER, dir: join(root, "file", "templates") },
        logger: {
          warn: (o: Record<string, unknown> | string) => warnings.push(typeof o === "string" ? {} : o),
        },
      });
      try {
        await db.migrate(MIGRATIONS_FOLDER);
        expect(await db.db.select().from(buildings)).toEqual([]);
        expect(warnings.map((w) => w.event)).toEqual(["pglite_template_unwritten"]);
      } finally {
        await db.close();
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("npm install prepares the template (postinstall)", () => {
  const ROOT = join(__dirname, "../..");
  const postinstall = (
    JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
      scripts: { postinstall: string };
    }
  ).scripts.postinstall;
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), "horizon-pglite-postinstall-"));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  /** The script as npm runs it: `sh -c`, node_modules/.bin first on PATH. */
  const runPostinstall = async (templateDir: string) => {
    const { stdout, stderr } = await promisify(execFile)("sh", ["-c", postinstall], {
      cwd: ROOT,
      env: {
        ...process.env,
        PATH: `${join(ROOT, "node_modules", ".bin")}${delimiter}${process.env.PATH}`,
        PGLITE_TEMPLATE_DIR: templateDir,
      },
    });
    return stdout + stderr;
  };

  it("writes the template once; a new data directory then opens migrated", async () => {
    const dir = join(root, "templates");
    const path = pgliteTemplatePath(MIGRATIONS_FOLDER, { dir });
    expect(await runPostinstall(dir)).toContain(`PGlite template written in`);
    expect(statSync(path).size).toBeGreaterThan(1_000_000);
    const written = statSync(path).mtimeMs;
    expect(await runPostinstall(dir)).toContain(`PGlite template ready: ${path}`);
    expect(statSync(path).mtimeMs).toBe(written);

    const db = await createPgliteDatabase({
      dataDir: join(root, "data"),
      template: { migrationsFolder: MIGRATIONS_FOLDER, dir },
    });
    try {
      const client = (db as Database & { client: { query: (q: string) => Promise<{ rows: unknown[] }> } })
        .client;
      const rows = (await client.query("select id from drizzle.__drizzle_migrations")).rows;
      expect(rows).toHaveLength(readMigrationFiles({ migrationsFolder: MIGRATIONS_FOLDER }).length);
    } finally {
      await db.close();
    }
  });

  it("does not fail the install when the template cannot be written", async () => {
    // A file where the template folder should be: mkdir fails, the install goes on.
    const blocked = join(root, "blocked");
    writeFileSync(blocked, "a file, not a folder");
    const out = await runPostinstall(join(blocked, "templates"));
    // The script's own warning (it exits 0), not the shell's fallback for a script that failed.
    expect(out).toContain("PGlite template not prepared (the first npm start will run initdb)");
    expect(out).not.toContain("template script failed");
  });
});
