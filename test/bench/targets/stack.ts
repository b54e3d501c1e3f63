/** Bench target: the stack of createApp cut after STACK_DEPTH middlewares (./stack-app.ts), served. */
import { parseConfig } from "../../../src/config";
import { createPgliteDatabase } from "../../../src/platform/db/pglite";
import { createMemoryKv } from "../../../src/platform/kv/memory";
import { createJsonLogger } from "../../../src/platform/log/json";
import { assembleNodeServices } from "../../../workers/node-services";
import { bun, serveFetch } from "../serve";
import { buildStack, STACK_LAYERS } from "./stack-app";

const config = parseConfig({ ...process.env, LOG_LEVEL: "info", SEED_DEMO: "false" });
const services = assembleNodeServices({
  config,
  database: await createPgliteDatabase(),
  kv: createMemoryKv(),
  logger: createJsonLogger({ level: "info", sink: () => {} }),
  runtime: bun ? "bun" : "node",
});
const app = buildStack(services, Number(process.env.STACK_DEPTH ?? STACK_LAYERS.length - 1));
serveFetch(app.fetch, { withClientIp: true });
