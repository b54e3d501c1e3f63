/**
 * Neon serverless adapter: a pg-compatible Pool over WebSocket, for Workers. `wsProxy` points the
 * driver at a self-hosted proxy (the local test bridge); `webSocketConstructor` is needed on Node.
 */
import { neonConfig, Pool } from "@neondatabase/serverless";
import { drizzle } from "drizzle-orm/neon-serverless";
import { migrate } from "drizzle-orm/neon-serverless/migrator";
import * as schema from "../../db/schema";
import type { Database, Db } from "./index";
import { instrumentPool } from "./instrument";

export interface NeonOptions {
  url: string;
  /** host:port/path of a WebSocket proxy; when set, plain ws:// is used (local bridge). */
  wsProxy?: string;
  webSocketConstructor?: unknown;
  max?: number;
}

export function createNeonDatabase(options: NeonOptions): Database {
  if (options.webSocketConstructor) neonConfig.webSocketConstructor = options.webSocketConstructor as never;
  if (options.wsProxy) {
    const proxy = options.wsProxy;
    neonConfig.wsProxy = () => proxy;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineTLS = false;
    neonConfig.pipelineConnect = false;
  }
  const pool = new Pool({ connectionString: options.url, max: options.max ?? 5 });
  pool.on("error", () => {});
  instrumentPool(pool as never);
  const db = drizzle(pool, { schema }) as unknown as Db;
  return {
    kind: "neon",
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
