/**
 * A standalone dispatcher in its own process, for the queue contract's SIGKILL case: the
 * in-process queue over PostgreSQL (CHILD_DATABASE_URL) with one handler for CHILD_TOPIC. It
 * prints `started <id> <attempt>` when the handler starts; with CHILD_MODE=hang the handler then
 * never returns (the test kills the process inside it), with CHILD_MODE=ok it prints
 * `delivered <id> <attempt>` and the process exits once the row is settled.
 */
import { parseConfig } from "../../../src/config";
import { HandlerRegistry } from "../../../src/modules/outbox/registry";
import { createPgDatabase } from "../../../src/platform/db/pg";
import { createMemoryKv } from "../../../src/platform/kv/memory";
import { createJsonLogger } from "../../../src/platform/log/json";
import { assembleNodeServices } from "../../../workers/node-services";
import { startInProcessQueue } from "../../../workers/outbox-queue";

const url = process.env.CHILD_DATABASE_URL!;
const topic = process.env.CHILD_TOPIC!;
const mode = process.env.CHILD_MODE ?? "ok";
const leaseMs = Number(process.env.CHILD_LEASE_MS ?? 1000);

const config = parseConfig({ NODE_ENV: "test", SEED_DEMO: "false", LOG_LEVEL: "warn", DATABASE_URL: url });
const services = assembleNodeServices({
  config,
  database: createPgDatabase({ url, max: 2 }),
  kv: createMemoryKv(),
  logger: createJsonLogger({ level: "warn", sink: (line) => process.stderr.write(`${line}\n`) }),
  runtime: "node",
});
const registry = new HandlerRegistry();
let delivered: (() => void) | undefined;
const done = new Promise<void>((resolve) => {
  delivered = resolve;
});
registry.register(topic, {
  async handle(_payload, ctx) {
    process.stdout.write(`started ${ctx.event.id} ${ctx.event.attempts}\n`);
    if (mode === "hang") await new Promise(() => {});
    process.stdout.write(`delivered ${ctx.event.id} ${ctx.event.attempts}\n`);
    // Exit once the loop has written the row settled (after this handler returns).
    setTimeout(() => delivered?.(), 0);
  },
});
const queue = startInProcessQueue(services, { registry, leaseMs, pollMs: 100 });
process.stdout.write("ready\n");
await done;
await queue.close();
await services.database.close();
process.exit(0);
