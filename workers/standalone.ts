/**
 * Standalone host (`npm start`): one process, zero cloud accounts. Bun by default, Node works too.
 * PGlite in DATA_DIR unless DATABASE_URL is set, memory kv unless REDIS_URL/UPSTASH_* are set;
 * migrations applied at start; a demo building seeded on first start.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { Server as HttpServer } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import webpush from "web-push";
import { createApp } from "../src/app";
import { type Config, ConfigError, parseConfig } from "../src/config";
import {
  clientErrorAnswer,
  correlationIdOf,
  headersTooLarge,
  MAX_REQUEST_HEAD_BYTES,
  requestHeadBytes,
} from "../src/http/host-errors";
import { seedStandalone } from "../src/modules/demo/seed";
import { runFilesHousekeeping } from "../src/modules/files/housekeeping";
import { AdminBootstrapError, ensurePlatformAdmin } from "../src/modules/identity/admin-bootstrap";
import { recordDuePayments } from "../src/modules/notifications/due-payments";
import { RoomHub } from "../src/modules/realtime/hub";
import { runSyncRetention } from "../src/modules/sync/purge-job";
import { publishDueAnnouncements } from "../src/modules/sync/scheduled";
import { alertOnDeadEvents } from "../src/modules/webhooks/alerts";
import { createPinoLogger } from "../src/platform/log/pino";
import { selectRateLimiter } from "../src/platform/ratelimit/select";
import type { RoomGateway } from "../src/platform/realtime/gateway";
import { bunWebSocket, upgradeRequired } from "../src/platform/realtime/ws-bun";
import { attachNodeWebSockets } from "../src/platform/realtime/ws-node";
import { selectDatabase, selectKv } from "../src/platform/select";
import { closeServices, type Runtime, type Services } from "../src/services";
import { assembleNodeServices } from "./node-services";
import { startInProcessQueue } from "./outbox-queue";

export const MIGRATIONS_FOLDER = fileURLToPath(new URL("../drizzle", import.meta.url));

function loadConfig(): Config {
  try {
    return parseConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const issue of err.issues)
        console.error(`configuration error: ${issue.variable}: ${issue.message}`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
}

/** JWT_SECRET unset: generate one on first start and keep it in DATA_DIR so tokens survive restarts. */
function ensureJwtSecret(config: Config): Config {
  if (config.JWT_SECRET) return config;
  const file = join(config.DATA_DIR, "jwt-secret");
  let secret: string;
  try {
    secret = readFileSync(file, "utf8").trim();
  } catch {
    secret = Buffer.from(crypto.getRandomValues(new Uint8Array(48))).toString("base64url");
    writeFileSync(file, secret, { mode: 0o600 });
  }
  return { ...config, JWT_SECRET: secret };
}

/**
 * VAPID keys unset: generate a pair on first start and keep it in DATA_DIR, like the JWT secret
 * (browsers' subscriptions are bound to the public key: a new pair would orphan every one).
 */
function ensureVapidKeys(config: Config): Config {
  if (config.VAPID_PUBLIC_KEY && config.VAPID_PRIVATE_KEY) return config;
  const file = join(config.DATA_DIR, "vapid-keys.json");
  let keys: { publicKey: string; privateKey: string };
  try {
    keys = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    keys = webpush.generateVAPIDKeys();
    writeFileSync(file, JSON.stringify(keys), { mode: 0o600 });
  }
  return { ...config, VAPID_PUBLIC_KEY: keys.publicKey, VAPID_PRIVATE_KEY: keys.privateKey };
}

/** Scalar's browser bundle from node_modules, read once on first use (the package exports no path to it). */
let scalarScript: Promise<Uint8Array<ArrayBuffer>> | undefined;
function docsScript(): Promise<Uint8Array<ArrayBuffer>> {
  scalarScript ??= readFile(
    join(dirname(fileURLToPath(import.meta.resolve("@scalar/api-reference"))), "browser", "standalone.js"),
  ).then((b) => new Uint8Array(b));
  return scalarScript;
}

export async function startStandalone() {
  const runtime: Runtime = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined" ? "bun" : "node";
  let config = loadConfig();
  mkdirSync(config.DATA_DIR, { recursive: true });
  config = ensureJwtSecret(config);
  config = ensureVapidKeys(config);
  const logger = createPinoLogger({ level: config.LOG_LEVEL });

  const database = await selectDatabase(config, { migrationsFolder: MIGRATIONS_FOLDER, logger });
  await database.migrate(MIGRATIONS_FOLDER);
  const kv = await selectKv(config, logger);
  const rateLimiter = await selectRateLimiter(config);
  const services = assembleNodeServices({ config, database, kv, logger, runtime, rateLimiter, docsScript });
  const admin = await ensurePlatformAdmin(services).catch((err) => {
    if (!(err instanceof AdminBootstrapError)) throw err;
    console.error(`configuration error: ${err.message}`);
    process.exit(78); // EX_CONFIG
  });
  const seeded = await seedStandalone(services);

  const server = await serveStandalone(services, config.PORT);
  const base = `http://localhost:${server.port}`;
  if (runtime === "bun" && !process.execArgv.some((a) => a.startsWith("--max-http-header-size"))) {
    logger.warn(
      { event: "bun_header_limit" },
      "started without --max-http-header-size (npm start passes it): Bun answers requests over 16 KiB of headers with an empty 431 instead of a problem document",
    );
  }
  logger.info(
    { event: "started", runtime, port: server.port, database: database.kind, kv: kv.kind },
    "listening",
  );
  console.log(
    [
      "",
      `Horizon is running on ${runtime} (${database.kind} database, ${kv.kind} kv)`,
      `  API reference  ${base}/docs`,
      `  OpenAPI        ${base}/openapi.json`,
      `  Health         ${base}/health   ${base}/health/ready`,
      ...(admin.status === "skipped" ? [] : [`  Platform admin ${admin.email} (${admin.status})`]),
      ...(await seeded.lines()).map((l) => `  ${l}`),
      "",
    ].join("\n"),
  );

  const stop = async () => {
    logger.info({ event: "stopping" }, "shutting down");
    await server.close();
    await closeServices(services);
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  return { server, services };
}

const SYNC_RETENTION_INTERVAL_MS = 3600_000;
/** Scheduled announcements reach residents' deltas within this (plus a run) of their publishedAt. */
export const SCHEDULED_PUBLISH_INTERVAL_MS = 30_000;
/** Files housekeeping (expired uploads, old quarantine, files of deleted parents) runs this often. */
const FILES_HOUSEKEEPING_INTERVAL_MS = 300_000;

type Fetch = (req: Request, env: Record<string, unknown>) => Response | Promise<Response>;

/**
 * Serves the app and, unless rooms live on PartyKit, the in-process building rooms over
 * WebSocket on the same port (`/parties/building/{id}`, PartyKit's URL shape, so clients use one
 * scheme). Also runs the outbox's in-process queue (every committed event's handler, retries,
 * pruning); purges expired sync tombstones at start and every hour after; and gives
 * scheduled announcements that became due their version (sync/scheduled.ts) at start and every 30 s;
 * and runs files housekeeping (files/housekeeping.ts) at start and every 5 minutes.
 */
export async function serveStandalone(services: Services, port: number) {
  const app = createApp(services);
  const hub = services.realtime.subscribe ? new RoomHub(services) : undefined;
  // The outbox's in-process queue: committed events reach their handlers in this process (woken
  // after each commit; a timer catches delays, retries and rows a previous run left behind), and
  // delivered rows are pruned after OUTBOX_RETENTION_HOURS.
  const queue = startInProcessQueue(services);
  // One purge at a time; close() waits for a running one so the database is not closed under it.
  let purging: Promise<void> | undefined;
  const purge = () => {
    purging ??= runSyncRetention(services).finally(() => {
      purging = undefined;
    });
  };
  purge();
  const purgeTimer = setInterval(purge, SYNC_RETENTION_INTERVAL_MS);
  purgeTimer.unref();
  // Likewise one run at a time, awaited by close().
  let publishing: Promise<unknown> | undefined;
  const publishDue = () => {
    publishing ??= Promise.all([
      publishDueAnnouncements(services).catch((err) =>
        services.logger.warn(
          { event: "scheduled_publish_failed", err: String(err) },
          "scheduled publish failed",
        ),
      ),
      // Dues whose date came get their payment.due event (notifications), once per payment.
      recordDuePayments(services).catch((err) =>
        services.logger.warn({ event: "payment_due_failed", err: String(err) }, "payment due sweep failed"),
      ),
    ]).finally(() => {
      publishing = undefined;
    });
  };
  publishDue();
  const publishTimer = setInterval(publishDue, SCHEDULED_PUBLISH_INTERVAL_MS);
  publishTimer.unref();
  // Files housekeeping: one run at a time, awaited by close().
  let sweepingFiles: Promise<unknown> | undefined;
  const sweepFiles = () => {
    sweepingFiles ??= runFilesHousekeeping(services)
      .catch((err) =>
        services.logger.warn(
          { event: "files_housekeeping_failed", err: String(err) },
          "files housekeeping failed",
        ),
      )
      .finally(() => {
        sweepingFiles = undefined;
      });
  };
  sweepFiles();
  // Dead outbox events since the last look raise a throttled alert (log, ALERT_WEBHOOK_URL, admins).
  let deadSince = new Date();
  const checkDead = () => {
    const since = deadSince;
    deadSince = new Date();
    alertOnDeadEvents(services, since).catch((err) =>
      services.logger.warn({ event: "dead_alert_failed", err: String(err) }, "dead-event alert check failed"),
    );
  };
  const filesTimer = setInterval(() => {
    sweepFiles();
    checkDead();
  }, FILES_HOUSEKEEPING_INTERVAL_MS);
  filesTimer.unref();
  const server = await listen(app.fetch, port, services.runtime, hub);
  return {
    port: server.port,
    hub,
    close: async () => {
      clearInterval(purgeTimer);
      clearInterval(publishTimer);
      clearInterval(filesTimer);
      hub?.stop();
      await server.close();
      await queue.close();
      await purging;
      await publishing;
      await sweepingFiles;
    },
  };
}

export async function listen(fetch: Fetch, port: number, runtime: Runtime, rooms?: RoomGateway<any, any>) {
  if (runtime === "bun") {
    const Bun = (globalThis as unknown as { Bun: any }).Bun;
    const ws = rooms ? bunWebSocket(rooms) : undefined;
    const server = Bun.serve({
      port,
      fetch: async (req: Request, srv: any) => {
        if (req.url.length > MAX_REQUEST_HEAD_BYTES || requestHeadBytes(req) > MAX_REQUEST_HEAD_BYTES) {
          return headersTooLarge(correlationIdOf(req.headers));
        }
        if (ws) {
          const answered = await ws.upgrade(req, srv);
          if (answered !== null) return answered;
        }
        const res = await fetch(req, { clientIp: srv.requestIP(req)?.address });
        // Bun ends a response after idleTimeout (10 s) without a byte; an event stream is silent
        // between heartbeats (25 s by default), so streams opt out. Other requests keep the limit.
        if (res.headers.get("content-type")?.startsWith("text/event-stream")) srv.timeout(req, 0);
        return res;
      },
      ...(ws ? { websocket: ws.websocket } : {}),
    });
    return { port: server.port as number, close: async () => server.stop(true) };
  }
  const { serve } = await import("@hono/node-server");
  return await new Promise<{ port: number; close: () => Promise<void> }>((resolve) => {
    // A room path without `Upgrade: websocket` never reaches the router (Bun answers it in upgrade()).
    const guarded: Fetch = rooms
      ? (req, env) =>
          req.url.includes("/parties/") && rooms.match(new URL(req.url).pathname)
            ? upgradeRequired(correlationIdOf(req.headers))
            : fetch(req, env)
      : fetch;
    const server = serve({ fetch: guarded as never, port }, (info) => {
      const sockets = rooms ? attachNodeWebSockets(server as HttpServer, rooms) : undefined;
      // With a listener attached Node writes nothing itself: answer as problem+json, not an empty 431/400.
      (server as HttpServer).on("clientError", (err: NodeJS.ErrnoException, socket) => {
        const answer = socket.writable ? clientErrorAnswer(err) : null;
        if (answer) socket.end(answer);
        else socket.destroy();
      });
      resolve({
        port: info.port,
        close: () =>
          new Promise<void>((r) => {
            sockets?.close();
            (server as HttpServer).closeAllConnections?.();
            server.close(() => r());
          }),
      });
    });
  });
}

if ((import.meta as { main?: boolean }).main ?? process.argv[1] === fileURLToPath(import.meta.url)) {
  startStandalone().catch((err) => {
    console.error("failed to start:", err);
    process.exit(1);
  });
}
