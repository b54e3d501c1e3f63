/**
 * A hot query built once: its SQL (with `sql.placeholder(...)` for values) is compiled to text on
 * first use instead of on every call, and on node-postgres it runs as a named prepared statement,
 * so each pooled connection parses and plans it once (Postgres then reuses a generic plan). PGlite
 * has no network round trip to save and Neon's per-request connections would not keep the
 * statement, so there it runs unnamed. Uses Drizzle's session API, which every adapter implements.
 */
import { entityKind, type SQL, sql } from "drizzle-orm";
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
    const named = session.constructor[entityKind] === "NodePgSession";
    const result = await session
      .prepareQuery(compiled, undefined, named ? name : undefined, false)
      .execute(values);
    return result.rows as R[];
  };
}

function positionalQuery(q: { sql: string; params: unknown[] }, positional: readonly string[] | undefined) {
  if (!positional) return q;
  if (q.params.length) throw new Error("preparedSql: positional SQL must not hold other parameters");
  return { sql: q.sql, params: positional.map((name) => sql.placeholder(name)) };
}
