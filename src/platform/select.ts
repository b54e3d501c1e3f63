/**
 * Adapter choice from configuration for hosts with a filesystem and TCP (Bun, Node):
 * DATABASE_URL unset → PGlite in DATA_DIR; REDIS_URL → Redis; UPSTASH_* → Upstash; else memory.
 */
import { join } from "node:path";
import type { Config } from "../config";
import type { Database } from "./db";
import type { Kv } from "./kv";
import { kvBreakerLog } from "./kv/guard";
import type { Logger } from "./log";

export async function selectDatabase(
  config: Config,
  options: {
    /** PGlite in DATA_DIR: a new data directory starts from this folder's migrated template. */
    migrationsFolder?: string;
    logger?: Logger;
  } = {},
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
  return createPgliteDatabase({
    dataDir: join(config.DATA_DIR, "pglite"),
    ...(options.migrationsFolder
      ? { template: { migrationsFolder: options.migrationsFolder, dir: config.PGLITE_TEMPLATE_DIR } }
      : {}),
    logger: options.logger,
  });
}

/** `logger` hears the kv circuit breaker open and close (one line per change, not per call). */
export async function selectKv(config: Config, logger?: Logger): Promise<Kv> {
  const guard = { timeoutMs: config.KV_TIMEOUT_MS, breaker: { onStateChange: kvBreakerLog(logger) } };
  if (config.REDIS_URL) {
    const { createRedisKv } = await import("./kv/redis");
    return createRedisKv({ url: config.REDIS_URL, prefix: config.KV_PREFIX, ...guard });
  }
  if (config.UPSTASH_REDIS_REST_URL && config.UPSTASH_REDIS_REST_TOKEN) {
    const { createUpstashKv } = await import("./kv/upstash");
    return createUpstashKv({
      url: config.UPSTASH_REDIS_REST_URL,
      token: config.UPSTASH_REDIS_REST_TOKEN,
      prefix: config.KV_PREFIX,
      ...guard,
    });
  }
  const { createMemoryKv } = await import("./kv/memory");
  return createMemoryKv();
}
