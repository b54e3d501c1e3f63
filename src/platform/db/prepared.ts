/**
 * A hot query built once: its SQL (with `sql.placeholder(...)` for values) is compiled to text on
 * first use instead of on every call, and on node-postgres it runs as a named prepared statement,
 * so each pooled connection parses and plans it once (Postgres then reuses a generic plan). PGlite
 * has no network round trip to save and Neon's per-request connections would not keep the
 * statement, so there it runs unnamed. Uses Drizzle's session API, which every adapter implements.
 */
import { entityKind, type SQL } from "drizzle-orm";
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

/** `name` must be unique per query text within the process (node-postgres checks it per connection). */
export function preparedSql<R>(name: string, build: () => SQL): PreparedSql<R> {
  let compiled: { sql: string; params: unknown[] } | undefined;
  return async (db, values) => {
    const { dialect, session } = db as unknown as { dialect: Dialect; session: Session };
    compiled ??= dialect.sqlToQuery(build());
    const named = session.constructor[entityKind] === "NodePgSession";
    const result = await session
      .prepareQuery(compiled, undefined, named ? name : undefined, false)
      .execute(values);
    return result.rows as R[];
  };
}
