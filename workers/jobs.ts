/**
 * Job service (Bun): consumes the QStash callbacks of outbox events whose handlers need Node APIs
 * (sharp, web-push, firebase-admin, clamd arrive with the next issues), against Neon or
 * PostgreSQL. Same zod config and the same handlers the standalone host's in-process dispatcher
 * runs (the outbox handler registry), so `npm start` needs no second process; this one exists for
 * the edge deployment, where a Worker cannot run those libraries.
 *
 *   POST /queue/qstash/deliver   signed by QStash → runs the event's handler (idempotent by id)
 *   POST /queue/qstash/failed    signed by QStash → the event is dead
 *   GET  /health, /health/ready
 *
 * Requires DATABASE_URL (PostgreSQL; with NEON_WS_PROXY the Neon driver) and both QStash signing
 * keys. Migrations are applied by the deploy (workers/migrate.ts), not by each instance.
 */
import { fileURLToPath } from "node:url";
import { newRouter } from "../src/app";
import { type Config, ConfigError, parseConfig } from "../src/config";
import { bodyLimit } from "../src/http/body-limit";
import { correlation } from "../src/http/correlation";
import type { App } from "../src/http/env";
import { notFound, onError } from "../src/http/on-error";
import { requestLog } from "../src/http/request-log";
import { registerHealth } from "../src/modules/health";
// Loading the modules registers their outbox handlers (topic → handler) in the process registry.
import "../src/modules/index";
import { createOutboxConsumer } from "../src/modules/outbox/consumer";
import { registerQStashConsumer } from "../src/modules/outbox/routes/qstash-consume";
import { createPinoLogger } from "../src/platform/log/pino";
import type { QueueConsumer } from "../src/platform/queue";
import { selectDatabase, selectKv } from "../src/platform/select";
import { closeServices, type Runtime, type Services } from "../src/services";
import { assembleNodeServices } from "./node-services";
import { listen } from "./standalone";

/**
 * The job service's app: health probes and the QStash consumer, behind the same error handling.
 * `consumer` defaults to the outbox consumer over the process's handler registry.
 */
export function createJobsApp(services: Services, options: { consumer?: QueueConsumer } = {}): App {
  const app = newRouter();
  app.onError(onError);
  app.notFound(notFound);
  app.use("*", function servicesMiddleware(c, next) {
    c.set("services", services);
    return next();
  });
  // The forwarded X-Correlation-Id of each callback becomes the request's, so every log line of
  // a delivery (ours and the handler's) carries the id of the request that recorded the event.
  app.use("*", correlation());
  app.use("*", requestLog());
  app.use("*", bodyLimit(services.config.BODY_LIMIT_BYTES));
  registerHealth(app);
  const consumer = options.consumer ?? createOutboxConsumer(services);
  registerQStashConsumer(app, { consumerFor: () => consumer });
  return app;
}

function fail(variable: string, message: string): never {
  console.error(`configuration error: ${variable}: ${message}`);
  process.exit(78); // EX_CONFIG
}

function loadConfig(): Config {
  let config: Config;
  try {
    config = parseConfig(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const issue of err.issues) console.error(`configuration error: ${issue.variable}: ${issue.message}`);
    process.exit(78);
  }
  if (!config.DATABASE_URL) fail("DATABASE_URL", "required by the job service (Neon or PostgreSQL)");
  if (!config.QSTASH_CURRENT_SIGNING_KEY) fail("QSTASH_CURRENT_SIGNING_KEY", "required by the job service");
  return config;
}

export async function startJobs() {
  const runtime: Runtime = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined" ? "bun" : "node";
  const config = loadConfig();
  const logger = createPinoLogger({ level: config.LOG_LEVEL });
  const database = await selectDatabase(config);
  // The replay guard of the consumer lives in kv: give several instances REDIS_URL or UPSTASH_*.
  const kv = await selectKv(config, logger);
  const services = assembleNodeServices({ config, database, kv, logger, runtime });
  const server = await listen(createJobsApp(services).fetch, config.PORT, runtime);
  logger.info(
    { event: "started", service: "jobs", runtime, port: server.port, database: database.kind, kv: kv.kind },
    "job service listening",
  );
  const stop = async () => {
    logger.info({ event: "stopping", service: "jobs" }, "shutting down");
    await server.close();
    await closeServices(services);
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  return { server, services };
}

if ((import.meta as { main?: boolean }).main ?? process.argv[1] === fileURLToPath(import.meta.url)) {
  startJobs().catch((err) => {
    console.error("failed to start:", err);
    process.exit(1);
  });
}
