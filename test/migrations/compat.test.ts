/**
 * Migrations safe for gradual rollout (issue 20 §4, docs/adr/0005): while two Worker versions
 * serve, migration N must not break the code of version N-1. The previous release (the commit
 * before the newest migration, or HEAD when the working tree adds migrations; PREVIOUS_RELEASE
 * overrides) is checked out in a temporary git worktree, its standalone host runs on a database
 * migrated by the CURRENT migrations, and its own read/write smoke test must pass. A planted
 * contract step (renaming a column the previous release reads) must make it fail.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPgDatabase } from "../../src/platform/db/pg";
import { createScratchDatabase, type ScratchDatabase } from "../support/scratch-db";
import { startHostProcess } from "../support/standalone-process";
import { smoke as currentSmoke } from "./smoke";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const git = (...args: string[]) => execFileSync("git", args, { cwd: ROOT, encoding: "utf8" }).trim();

/** The release the deployed code was built from when this change's migrations run. */
function previousRelease(): string {
  if (process.env.PREVIOUS_RELEASE) return git("rev-parse", process.env.PREVIOUS_RELEASE);
  const dirty = git("status", "--porcelain", "--", "drizzle") !== "";
  if (dirty) return git("rev-parse", "HEAD");
  const lastMigration = git("log", "-1", "--format=%H", "--", "drizzle");
  return git("rev-parse", `${lastMigration}^`);
}

type Smoke = (base: string) => Promise<string[]>;

/** The release's own smoke test, or today's when that release predates the file. */
async function smokeOf(release: string, dir: string): Promise<{ smoke: Smoke; own: boolean }> {
  try {
    const source = execFileSync("git", ["show", `${release}:test/migrations/smoke.ts`], {
      cwd: ROOT,
      encoding: "utf8",
    });
    const file = join(dir, "smoke-of-release.ts");
    writeFileSync(file, source);
    return { smoke: ((await import(file)) as { smoke: Smoke }).smoke, own: true };
  } catch {
    return { smoke: currentSmoke, own: false };
  }
}

/** Migrates a fresh database with this tree's migrations plus `extraSql` (a planted migration). */
async function migratedDatabase(extraSql?: string): Promise<ScratchDatabase> {
  const scratch = await createScratchDatabase({ migrated: false });
  const db = createPgDatabase({ url: scratch.url, max: 1 });
  try {
    await db.migrate(join(ROOT, "drizzle"));
  } finally {
    await db.close();
  }
  if (extraSql) {
    const c = new pg.Client({ connectionString: scratch.url });
    await c.connect();
    await c.query(extraSql);
    await c.end();
  }
  return scratch;
}

interface OldHost {
  base: string;
  output(): string;
  stop(): Promise<void>;
}

/** The previous release's standalone host (its own workers/standalone.ts under Bun) on `url`. */
async function startReleaseHost(worktree: string, url: string): Promise<OldHost> {
  return startHostProcess({
    cwd: worktree,
    args: ["workers/standalone.ts"],
    env: {
      DATABASE_URL: url,
      REDIS_URL: "",
      LOG_LEVEL: "warn",
      SEED_DEMO: "true",
      JWT_SECRET: "previous-release-previous-release-0123456789",
    },
    label: "the previous release's host",
    readyTimeoutMs: 120_000,
  });
}

describe("migrations are safe for the previous release (expand/contract)", () => {
  let release: string;
  let worktree: string;
  let scratchDir: string;
  let prevSmoke: { smoke: Smoke; own: boolean };
  const dbs: ScratchDatabase[] = [];

  beforeAll(async () => {
    release = previousRelease();
    scratchDir = mkdtempSync(join(tmpdir(), "horizon-prev-"));
    worktree = join(scratchDir, "release");
    // A separate checkout of the release: the main working tree is never touched.
    git("worktree", "add", "--quiet", "--detach", worktree, release);
    symlinkSync(join(ROOT, "node_modules"), join(worktree, "node_modules"), "dir");
    prevSmoke = await smokeOf(release, scratchDir);
  }, 120_000);
  afterAll(async () => {
    for (const db of dbs) await db.drop();
    if (worktree && existsSync(worktree)) git("worktree", "remove", "--force", worktree);
    git("worktree", "prune");
    rmSync(scratchDir, { recursive: true, force: true });
  });

  it("the previous release reads and writes on a database with the current migrations", async () => {
    const added = readdirSync(join(ROOT, "drizzle")).filter(
      (f) => f.endsWith(".sql") && !existsSync(join(worktree, "drizzle", f)),
    );
    console.log(
      `previous release ${release.slice(0, 12)} (${prevSmoke.own ? "its own smoke test" : "today's smoke test: the release predates it"}); migrations since: ${added.join(", ") || "none"}`,
    );
    const db = await migratedDatabase();
    dbs.push(db);
    const host = await startReleaseHost(worktree, db.url);
    try {
      const steps = await prevSmoke.smoke(host.base);
      expect(steps.length).toBeGreaterThanOrEqual(8);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- previous release's output ---\n${host.output()}`);
    } finally {
      await host.stop();
    }
  }, 240_000);

  it("a contract step in the same release (a renamed column the previous code reads) fails it", async () => {
    const db = await migratedDatabase('alter table "apartments" rename column "number" to "unit_number"');
    dbs.push(db);
    const host = await startReleaseHost(worktree, db.url).catch((err: Error) => err);
    if (host instanceof Error) {
      // Failing at start (its demo seed writes apartments) is the same verdict: the release breaks.
      expect(host.message).toMatch(/number/);
      return;
    }
    try {
      await expect(prevSmoke.smoke(host.base)).rejects.toThrow(/apartments.*5\d\d|5\d\d/);
    } finally {
      await host.stop();
    }
  }, 240_000);
});
