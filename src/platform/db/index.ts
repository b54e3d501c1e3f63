/**
 * The db port: Drizzle over Postgres. Adapters: PGlite (embedded default, in-memory for tests),
 * node-postgres (any Postgres URL) and the Neon serverless Pool (WebSocket, Workers). Each
 * adapter times its round trips into the request's metrics (Server-Timing, response log line).
 */
import type { ExtractTablesWithRelations, SQL } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from "drizzle-orm/pg-core";
import type * as schema from "../../db/schema";

export type Schema = typeof schema;
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
export type Tx = PgTransaction<PgQueryResultHKT, Schema, ExtractTablesWithRelations<Schema>>;
/** Verbs accept either the database or an open transaction. */
export type DbOrTx = Db | Tx;

/**
 * The rows of a raw statement. Every adapter's `execute` answers its driver's result, which holds
 * `rows` (node-postgres and Neon's QueryResult, PGlite's Results); Drizzle types it by driver.
 */
export async function queryRows<R>(db: DbOrTx, query: SQL): Promise<R[]> {
  return ((await db.execute(query)) as unknown as { rows: R[] }).rows;
}

export type DatabaseKind = "pglite" | "pg" | "neon";

export interface Database {
  readonly kind: DatabaseKind;
  readonly db: Db;
  /** Cheap round trip for readiness checks. */
  ping(): Promise<void>;
  /** Applies pending migrations from the drizzle/ folder (hosts with a filesystem). */
  migrate(migrationsFolder: string): Promise<void>;
  close(): Promise<void>;
}
