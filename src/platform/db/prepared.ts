/**
 * A hot query built once: its SQL (with `sql.placeholder(...)` for values) is compiled to text on
 * first use instead of on every call, and on node-postgres it runs as a named prepared statement,
 * so each pooled connection parses and plans it once (Postgres then reuses a generic plan). PGlite
 * has no network round trip to save and Neon's per-request connections would not keep the
 * statement, so there it runs unnamed. Uses Drizzle's session API, which every adapter implements;
 * on node-postgres it calls the session's client directly (see below). Rows come as the driver
 * parses them: meant for statements that return text, JSON text, numbers and booleans.
 */
import { entityKind, fillPlaceholders, type SQL, sql } from "drizzle-orm";
import type { DbOrTx } from "./index";

interface Session {
  constructor: { [entityKind]?: string };
  prepareQuery(
    query: { sql: string; params: unknown[] },
    fields: undefined,
    name: string | undefined,
    arrayMode: boolean,
  ): { execute(values: Record<string, unknown>): Promise<{ rows: unknown[] }> };
}
/** What node-postgres' Pool and PoolClient (a NodePgSession's `client`) answer. */
interface NodePgClient {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
}
interface Dialect {
  sqlToQuery(query: SQL): { sql: string; params: unknown[] };
}

export type PreparedSql<R> = (db: DbOrTx, values: Record<string, unknown>) => Promise<R[]>;

/**
 * `name` must be unique per query text within the process (node-postgres checks it per connection).
 * With `positional`, the SQL refers to its values as `$1`, `$2`, … itself (each bound once, however
 * often it is used) and they are taken from `values` in that order; the SQL must then hold no
 * other parameters.
 */
export function preparedSql<R>(
  name: string,
  build: () => SQL,
  positional?: readonly string[],
): PreparedSql<R> {
  let compiled: { sql: string; params: unknown[] } | undefined;
  return async (db, values) => {
    const { dialect, session } = db as unknown as { dialect: Dialect; session: Session };
    compiled ??= positionalQuery(dialect.sqlToQuery(build()), positional);
    if (session.constructor[entityKind] === "NodePgSession") {
      // Straight to the driver: Drizzle's prepared-query layer (tracing spans, a type-parser
      // override consulted per field) costs about 50 µs a call on Node — as much as the whole
      // statement's database work on a small pull.
      const client = (session as unknown as { client: NodePgClient }).client;
      const result = await client.query({
        name,
        text: compiled.sql,
        values: fillPlaceholders(compiled.params, values),
      });
      return result.rows as R[];
    }
    const result = await session.prepareQuery(compiled, undefined, undefined, false).execute(values);
    return result.rows as R[];
  };
}

function positionalQuery(q: { sql: string; params: unknown[] }, positional: readonly string[] | undefined) {
  if (!positional) return q;
  if (q.params.length) throw new Error("preparedSql: positional SQL must not hold other parameters");
  return { sql: q.sql, params: positional.map((name) => sql.placeholder(name)) };
}
