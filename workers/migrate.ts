/**
 * Edge deploy step: applies pending drizzle/ migrations to DATABASE_URL before `wrangler deploy`
 * (Workers have no filesystem to read migrations from at start). Uses node-postgres, or the Neon
 * driver when NEON_WS_PROXY is set. Run: `npm run db:migrate` (or `npm run deploy:edge`).
 */
import { fileURLToPath } from "node:url";
import { ConfigError, parseConfig } from "../src/config";
import { AdminBootstrapError, ensurePlatformAdmin } from "../src/modules/identity/admin-bootstrap";
import { createJsonLogger } from "../src/platform/log/json";
import { selectDatabase, selectKv } from "../src/platform/select";
import { assembleNodeServices } from "./node-services";

const MIGRATIONS_FOLDER = fileURLToPath(new URL("../drizzle", import.meta.url));

async function main() {
  const config = parseConfig(process.env);
  if (!config.DATABASE_URL)
    throw new ConfigError([{ variable: "DATABASE_URL", message: "required to migrate" }]);
  const database = await selectDatabase(config);
  try {
    await database.migrate(MIGRATIONS_FOLDER);
    console.log(`migrations applied (${database.kind})`);
    // Workers have no start-up hook that may write, so the first admin is made at deploy time.
    const kv = await selectKv(config);
    const services = assembleNodeServices({
      config,
      database,
      kv,
      logger: createJsonLogger({ level: config.LOG_LEVEL }),
      runtime: "node",
    });
    try {
      const admin = await ensurePlatformAdmin(services);
      if (admin.status !== "skipped") console.log(`platform admin ${admin.email}: ${admin.status}`);
    } finally {
      await kv.close();
    }
  } finally {
    await database.close();
  }
}

main().catch((err) => {
  console.error(err instanceof ConfigError || err instanceof AdminBootstrapError ? err.message : err);
  process.exit(1);
});
