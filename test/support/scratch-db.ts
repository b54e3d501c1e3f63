/**
 * Scratch databases on the local PostgreSQL for tests that need a URL rather than an adapter
 * (the Neon driver through the bridge, a Worker under wrangler dev): empty, or cloned from the
 * migrated template that global-setup builds.
 *
 * Names carry the creating process id (`horizon_s_<pid>_…`) and leftovers are dropped only when
 * that process is gone: several engineers' test runs share this PostgreSQL, and a run's clean-up
 * must not drop a database that another live run is using.
 */
import pg from "pg";
import { PG_ADMIN_URL, pgUrlFor, TEMPLATE_DB } from "./env";

export interface ScratchDatabase {
  name: string;
  /** postgres:// URL with a password (the Neon driver refuses a URL without one). */
  url: string;
  drop(): Promise<void>;
}

const PREFIX = "horizon_s_";
let counter = 0;
let swept = false;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function withAdmin<T>(fn: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  admin.on("error", () => {});
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}

async function sweepLeftovers(admin: pg.Client) {
  const { rows } = await admin.query<{ datname: string }>(
    "select datname from pg_database where datname like $1",
    [`${PREFIX}%`],
  );
  for (const { datname } of rows) {
    const pid = Number(datname.slice(PREFIX.length).split("_")[0]);
    if (pid && !alive(pid)) await admin.query(`drop database if exists "${datname}" with (force)`);
  }
}

/** Another run's global setup may be rebuilding the template right now: wait for it. */
const transient = (err: unknown) =>
  /being accessed by other users|does not exist/.test(err instanceof Error ? err.message : "");

export async function createScratchDatabase(options: { migrated: boolean }): Promise<ScratchDatabase> {
  const name = `${PREFIX}${process.pid}_${Date.now().toString(36)}_${counter++}`;
  await withAdmin(async (admin) => {
    if (!swept) {
      swept = true;
      await sweepLeftovers(admin);
    }
    const ddl = `create database "${name}"${options.migrated ? ` template "${TEMPLATE_DB}"` : ""}`;
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.query(ddl);
        return;
      } catch (err) {
        if (attempt >= 40 || !transient(err)) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  });
  const url = new URL(pgUrlFor(name));
  url.password ||= "scratch-password";
  return {
    name,
    url: url.toString(),
    drop: () =>
      withAdmin(async (admin) => void (await admin.query(`drop database if exists "${name}" with (force)`))),
  };
}
