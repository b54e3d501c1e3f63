/**
 * The full app as the standalone host builds it: createApp with every middleware, PGlite
 * in-memory (migrated) and memory kv, logging at info into a sink that drops the lines (so the
 * cost of building each log line is measured, not the terminal). BENCH_DATABASE_URL (an empty
 * PostgreSQL database) puts it on node-postgres instead, migrated and seeded here (H3).
 */
import { fileURLToPath } from "node:url";
import { createApp } from "../../../src/app";
import { parseConfig } from "../../../src/config";
import { apartments, buildings, memberships, users } from "../../../src/db/schema";
import { createPgDatabase } from "../../../src/platform/db/pg";
import { createPgliteDatabase } from "../../../src/platform/db/pglite";
import { createMemoryKv } from "../../../src/platform/kv/memory";
import { createJsonLogger } from "../../../src/platform/log/json";
import { assembleNodeServices } from "../../../workers/node-services";
import { bun, serveFetch } from "../serve";
import { BENCH_BUILDING_ID, BENCH_JWT_SECRET, BENCH_MANAGER_ID } from "./bench-tenant";

// Limits stay on (their cost is part of the stack) but high enough that the load never hits 429.
const config = parseConfig({
  ...process.env,
  LOG_LEVEL: "info",
  SEED_DEMO: "false",
  JWT_SECRET: BENCH_JWT_SECRET,
  RATE_LIMIT_READ: "100000000/60s",
});
const pgUrl = process.env.BENCH_DATABASE_URL;
const database = pgUrl ? createPgDatabase({ url: pgUrl }) : await createPgliteDatabase();
await database.migrate(fileURLToPath(new URL("../../../drizzle", import.meta.url)));
const services = assembleNodeServices({
  config,
  database,
  kv: createMemoryKv(),
  logger: createJsonLogger({ level: "info", sink: () => {} }),
  runtime: bun ? "bun" : "node",
});
// One building with its manager, for the authenticated read route.
await database.db
  .insert(users)
  .values({ id: BENCH_MANAGER_ID, email: "bench@horizon.local", name: "Bench", passwordHash: "!" });
await database.db.insert(buildings).values({
  id: BENCH_BUILDING_ID,
  name: "Bench Tower",
  addressLine: "1 Bench St",
  city: "Haifa",
  country: "IL",
});
await database.db.insert(apartments).values(
  Array.from({ length: 20 }, (_, i) => ({
    buildingId: BENCH_BUILDING_ID,
    number: String(100 + i),
    floor: 1 + (i % 5),
  })),
);
await database.db
  .insert(memberships)
  .values({ buildingId: BENCH_BUILDING_ID, userId: BENCH_MANAGER_ID, role: "manager" });
const app = createApp(services);
serveFetch(app.fetch, { withClientIp: true });
