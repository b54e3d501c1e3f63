/** node-postgres adapter: any Postgres URL (local, RDS, Neon over TCP). */
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";
import * as schema from "../../db/schema";
import type { Database, Db } from "./index";
import { instrumentPool } from "./instrument";

export function createPgDatabase(options: { url: string; max?: number }): Database {
  // Pipeline mode: a query is sent without waiting for the answers to those before it on the
  // connection, which lets a transaction's BEGIN travel with its first statement (instrument.ts).
  const pool = new pg.Pool({ connectionString: options.url, max: options.max ?? 10, pipeline: true });
  // An idle client that errors (server restart) must not crash the process; the next query reconnects.
  pool.on("error", () => {});
  instrumentPool(pool, { pipelinedBegin: true });
  const db = drizzle(pool, { schema }) as unknown as Db;
  return {
    kind: "pg",
    db,
    async ping() {
      await pool.query("select 1");
    },
    async migrate(migrationsFolder) {
      await migrate(db as never, { migrationsFolder });
    },
    async close() {
      await pool.end();
    },
  };
}
