/**
 * Runs once before the suite: proves PostgreSQL and Redis answer (the suite fails, never skips,
 * when they do not), builds a migrated template database that each test file clones, and dumps a
 * migrated PGlite data directory that each PGlite test database loads (./db.ts).
 */
import { Redis } from "ioredis";
import pg from "pg";
import { createPgDatabase } from "../../src/platform/db/pg";
import { preparePgliteTemplate } from "../../src/platform/db/pglite";
import {
  MIGRATIONS_FOLDER as MIGRATIONS,
  migrationsHash,
  PG_ADMIN_URL,
  pgUrlFor,
  REDIS_URL,
  TEMPLATE_DB,
} from "./env";

export default async function setup() {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 5000 });
  try {
    await admin.connect();
  } catch (err) {
    throw new Error(
      `PostgreSQL is required by the test suite and is unreachable at ${PG_ADMIN_URL}: ${(err as Error).message}`,
    );
  }
  const redis = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 5000, maxRetriesPerRequest: 0 });
  redis.on("error", () => {});
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new Error(
      `Redis is required by the test suite and is unreachable at ${REDIS_URL}: ${(err as Error).message}`,
    );
  } finally {
    redis.disconnect();
  }

  // Several test runs may share this PostgreSQL: one setup at a time (the lock ends with the
  // session), leftovers dropped only when the process that made them (`horizon_t_<pid>_…`) is
  // gone, and the template rebuilt only when the migrations changed, so a starting run never
  // drops databases that a live run is using.
  admin.on("error", () => {});
  await admin.query("select pg_advisory_lock(hashtext('horizon_test_setup'))");
  const stale = await admin.query<{ datname: string }>(
    "select datname from pg_database where datname like 'horizon\\_t\\_%'",
  );
  for (const { datname } of stale.rows) {
    const pid = Number(datname.split("_")[2]);
    if (!pid || !processAlive(pid)) await admin.query(`drop database if exists "${datname}" with (force)`);
  }
  const hash = migrationsHash();
  const current = await admin.query<{ comment: string | null }>(
    "select shobj_description(oid, 'pg_database') as comment from pg_database where datname = $1",
    [TEMPLATE_DB],
  );
  if (current.rows[0]?.comment !== hash) {
    await admin.query(`drop database if exists "${TEMPLATE_DB}" with (force)`);
    await admin.query(`create database "${TEMPLATE_DB}"`);
    const template = createPgDatabase({ url: pgUrlFor(TEMPLATE_DB), max: 1 });
    await template.migrate(MIGRATIONS);
    await template.close();
    // Marked only once fully migrated: a half-built template is rebuilt by the next run.
    await admin.query(`comment on database "${TEMPLATE_DB}" is '${hash}'`);
  }
  await admin.end();
  // The migrated PGlite data directory test files load (./db.ts), written once per migration set.
  await preparePgliteTemplate(MIGRATIONS, { hash });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
