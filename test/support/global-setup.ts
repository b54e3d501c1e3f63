/**
 * Runs once before the suite: proves PostgreSQL and Redis answer (the suite fails, never skips,
 * when they do not) and builds a migrated template database that each test file clones.
 */
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import pg from "pg";
import { createPgDatabase } from "../../src/platform/db/pg";
import { PG_ADMIN_URL, pgUrlFor, REDIS_URL, TEMPLATE_DB } from "./env";

const MIGRATIONS = fileURLToPath(new URL("../../drizzle", import.meta.url));

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

  // Drop leftovers of interrupted runs, then rebuild the template from the current migrations.
  const stale = await admin.query<{ datname: string }>(
    "select datname from pg_database where datname like 'horizon_t_%' or datname = $1",
    [TEMPLATE_DB],
  );
  for (const { datname } of stale.rows)
    await admin.query(`drop database if exists "${datname}" with (force)`);
  await admin.query(`create database "${TEMPLATE_DB}"`);
  const template = createPgDatabase({ url: pgUrlFor(TEMPLATE_DB), max: 1 });
  await template.migrate(MIGRATIONS);
  await template.close();
  await admin.end();
}
