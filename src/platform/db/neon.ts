/**
 * Neon serverless adapter, for Workers. Statements outside interactive transactions go over
 * Neon's HTTP endpoint (`neon()`: one fetch per statement, no connection to open, nothing to
 * close), so a read on the Worker pays one round trip instead of a WebSocket, a Postgres startup
 * and authentication per request; `db.transaction` runs on the WebSocket `Pool`, opened on first
 * use (interactive transactions need a session). `http: false` puts everything on the Pool.
 * `wsProxy` points the driver at a self-hosted proxy (the local test bridge, which serves both the
 * WebSocket and `POST /sql`); `webSocketConstructor` is needed on Node.
 */
import { neon, neonConfig, Pool } from "@neondatabase/serverless";
import { sql } from "drizzle-orm";
import { drizzle as drizzleHttp } from "drizzle-orm/neon-http";
import { drizzle } from "drizzle-orm/neon-serverless";
import { migrate } from "drizzle-orm/neon-serverless/migrator";
import { measureDb } from "../../context";
import * as schema from "../../db/schema";
import type { Database, Db } from "./index";
import { instrumentPool } from "./instrument";

export interface NeonOptions {
  url: string;
  /** host:port/path of a WebSocket proxy; when set, plain ws:// is used (local bridge), and its `/sql` for HTTP. */
  wsProxy?: string;
  webSocketConstructor?: unknown;
  max?: number;
  /** Statements outside transactions over HTTP (default true). */
  http?: boolean;
}

/** Each HTTP statement is one fetch: timed into the request's metrics like a Pool query. */
const timedFetch = (input: RequestInfo | URL, init?: RequestInit) => measureDb(() => fetch(input, init));

export function createNeonDatabase(options: NeonOptions): Database {
  if (options.webSocketConstructor) neonConfig.webSocketConstructor = options.webSocketConstructor as never;
  if (options.wsProxy) {
    const proxy = options.wsProxy;
    neonConfig.wsProxy = () => proxy;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineTLS = false;
    neonConfig.pipelineConnect = false;
    const origin = proxy.split("/")[0];
    neonConfig.fetchEndpoint = () => `http://${origin}/sql`;
  }
  neonConfig.fetchFunction = timedFetch;
  let pool: Pool | undefined;
  let poolDb: Db | undefined;
  const onPool = (): Db => {
    if (!poolDb) {
      pool = new Pool({ connectionString: options.url, max: options.max ?? 5 });
      pool.on("error", () => {});
      instrumentPool(pool as never);
      poolDb = drizzle(pool, { schema }) as unknown as Db;
    }
    return poolDb;
  };
  let db: Db;
  if (options.http === false) db = onPool();
  else {
    db = drizzleHttp(neon(options.url), { schema }) as unknown as Db;
    // Interactive transactions need a session: the Pool's, opened on the first one.
    const transaction: Db["transaction"] = (fn, config) => onPool().transaction(fn, config);
    Object.defineProperty(db, "transaction", { value: transaction });
  }
  return {
    kind: "neon",
    db,
    async ping() {
      await db.execute(sql`select 1`);
    },
    async migrate(migrationsFolder) {
      await migrate(onPool() as never, { migrationsFolder });
    },
    async close() {
      await pool?.end();
    },
  };
}
