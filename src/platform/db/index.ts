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

/** What a driver's error carries (node-postgres, Neon and PGlite alike): SQLSTATE, constraint, text. */
export interface DriverError {
  code?: unknown;
  constraint?: unknown;
  message?: unknown;
}

/** Is there an error `match` accepts in `err`'s cause chain (Drizzle wraps the driver's error)? */
export function hasDbError(err: unknown, match: (e: DriverError) => boolean): boolean {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (match(e as DriverError)) return true;
  }
  return false;
}

/** A unique violation (SQLSTATE 23505), of `constraint` when given (by name or in the message). */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  return hasDbError(
    err,
    (e) => e.code === "23505" && (!constraint || String(e.constraint ?? e.message).includes(constraint)),
  );
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
