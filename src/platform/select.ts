/**
 * Adapter choice from configuration for hosts with a filesystem and TCP (Bun, Node):
 * DATABASE_URL unset → PGlite in DATA_DIR; REDIS_URL → Redis; UPSTASH_* → Upstash; else memory.
 */
import { join } from "node:path";
import type { Config } from "../config";
import type { Database } from "./db";
import type { Kv } from "./kv";

export async function selectDatabase(
  config: Config,
  options: { inMemory?: boolean } = {},
): Promise<Database> {
  if (config.DATABASE_URL) {
    if (config.NEON_WS_PROXY) {
      const [{ createNeonDatabase }, ws] = await Promise.all([import("./db/neon"), import("ws")]);
      return createNeonDatabase({
        url: config.DATABASE_URL,
        wsProxy: config.NEON_WS_PROXY,
        webSocketConstructor: ws.WebSocket,
      });
    }
    const { createPgDatabase } = await import("./db/pg");
    return createPgDatabase({ url: config.DATABASE_URL });
  }
  const { createPgliteDatabase } = await import("./db/pglite");
  return createPgliteDatabase(options.inMemory ? {} : { dataDir: join(config.DATA_DIR, "pglite") });
}

export async function selectKv(config: Config): Promise<Kv> {
  if (config.REDIS_URL) {
    const { createRedisKv } = await import("./kv/redis");
    return createRedisKv({ url: config.REDIS_URL, prefix: "horizon:" });
  }
  if (config.UPSTASH_REDIS_REST_URL && config.UPSTASH_REDIS_REST_TOKEN) {
    const { createUpstashKv } = await import("./kv/upstash");
    return createUpstashKv({
      url: config.UPSTASH_REDIS_REST_URL,
      token: config.UPSTASH_REDIS_REST_TOKEN,
      prefix: "horizon:",
    });
  }
  const { createMemoryKv } = await import("./kv/memory");
  return createMemoryKv();
}
