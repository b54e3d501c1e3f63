/**
 * Builds the real app on real adapters for a test: a fresh database of the given kind, a kv
 * (memory unless given), and a JSON logger whose lines the test can read.
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApp } from "../../src/app";
import { type Config, parseConfig } from "../../src/config";
import type { Database } from "../../src/platform/db";
import type { Kv } from "../../src/platform/kv";
import { createMemoryKv } from "../../src/platform/kv/memory";
import { createJsonLogger } from "../../src/platform/log/json";
import type { Clock, Services } from "../../src/services";
import { assembleNodeServices } from "../../workers/node-services";
import { createTestDatabase, type DbKind } from "./db";

export interface TestAppOptions {
  db?: DbKind;
  database?: Database;
  kv?: Kv;
  env?: Record<string, string>;
  clock?: Clock;
}

export const TEST_JWT_SECRET = "test-secret-test-secret-test-secret-0123456789";

export function testConfig(env: Record<string, string> = {}): Config {
  return parseConfig({
    NODE_ENV: "test",
    LOG_LEVEL: "info",
    JWT_SECRET: TEST_JWT_SECRET,
    SEED_DEMO: "false",
    // Filesystem object storage (the default) writes here, not into the repo's .data/.
    DATA_DIR: join(tmpdir(), "horizon-test-data"),
    ...env,
  });
}

export async function createTestApp(options: TestAppOptions = {}) {
  const config = testConfig(options.env);
  const lines: Array<Record<string, unknown>> = [];
  const logger = createJsonLogger({ level: config.LOG_LEVEL, sink: (line) => lines.push(JSON.parse(line)) });
  const database = options.database ?? (await createTestDatabase(options.db ?? "pglite"));
  const kv = options.kv ?? createMemoryKv();
  const services: Services = assembleNodeServices({
    config,
    database,
    kv,
    logger,
    runtime: "node",
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const app = createApp(services);
  return {
    app,
    services,
    logs: lines,
    /** app.request with a client IP, as a host would pass it. */
    request: (path: string, init?: RequestInit, ip = "203.0.113.7") =>
      app.request(path, init, { clientIp: ip }),
    async close() {
      if (!options.database) await database.close();
      if (!options.kv) await kv.close();
    },
  };
}

export type TestApp = Awaited<ReturnType<typeof createTestApp>>;
