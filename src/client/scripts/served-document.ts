/**
 * Prints the OpenAPI document the server serves at /openapi.json, built in-process from the app
 * (no database is opened: the document depends only on the routes and the config). Used by
 * gen-types.mjs and by the drift test; not part of the package.
 */

import { assembleNodeServices } from "../../../workers/node-services";
import { createApp } from "../../app";
import { parseConfig } from "../../config";
import { createMemoryKv } from "../../platform/kv/memory";
import { createJsonLogger } from "../../platform/log/json";
import type { Services } from "../../services";

export async function servedDocument(): Promise<Record<string, unknown>> {
  const config = parseConfig({
    NODE_ENV: "test",
    LOG_LEVEL: "error",
    SEED_DEMO: "false",
    JWT_SECRET: "x".repeat(48),
  });
  const services: Services = assembleNodeServices({
    config,
    // The document route never reaches the database.
    database: null as unknown as Services["database"],
    kv: createMemoryKv(),
    logger: createJsonLogger({ level: "error", sink: () => {} }),
    runtime: "node",
  });
  const res = await createApp(services).request("/openapi.json");
  if (!res.ok) throw new Error(`/openapi.json answered ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(`${JSON.stringify(await servedDocument(), null, 2)}\n`);
}
