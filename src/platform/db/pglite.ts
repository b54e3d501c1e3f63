/** PGlite adapter: embedded Postgres (WASM). In-memory when no data directory is given. */
import { PGlite } from "@electric-sql/pglite";
import { btree_gist } from "@electric-sql/pglite/contrib/btree_gist";
import { drizzle } from "drizzle-orm/pglite";
import { migrate } from "drizzle-orm/pglite/migrator";
import { measureDb } from "../../context";
import * as schema from "../../db/schema";
import type { Database, Db } from "./index";

type Queryable = Pick<PGlite, "query" | "exec">;

function instrument<T extends Queryable>(client: T): T {
  const query = client.query.bind(client);
  const exec = client.exec.bind(client);
  client.query = ((...args: Parameters<PGlite["query"]>) => measureDb(() => query(...args))) as T["query"];
  client.exec = ((...args: Parameters<PGlite["exec"]>) => measureDb(() => exec(...args))) as T["exec"];
  return client;
}

export async function createPgliteDatabase(
  options: { dataDir?: string; client?: PGlite } = {},
): Promise<Database> {
  // btree_gist: the exclusion constraint of the op records (migration 0009).
  const client =
    options.client ??
    (await PGlite.create({
      ...(options.dataDir ? { dataDir: options.dataDir } : {}),
      extensions: { btree_gist },
    }));
  return wrapPglite(client);
}

export function wrapPglite(client: PGlite): Database {
  instrument(client);
  const transaction = client.transaction.bind(client);
  client.transaction = ((cb: Parameters<PGlite["transaction"]>[0]) =>
    transaction((tx) => cb(instrument(tx)))) as PGlite["transaction"];
  const db = drizzle(client, { schema }) as unknown as Db;
  return {
    kind: "pglite",
    db,
    client,
    async ping() {
      await client.query("select 1");
    },
    async migrate(migrationsFolder) {
      await migrate(db as never, { migrationsFolder });
    },
    async close() {
      if (!client.closed) await client.close();
    },
  } as Database & { client: PGlite };
}
