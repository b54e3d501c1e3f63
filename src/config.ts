/**
 * One zod schema for every setting. Each host parses its environment once at its boundary:
 * the standalone host refuses to start and names the bad variable; the edge host answers 500
 * problem+json with code BAD_ENVIRONMENT.
 */
import { z } from "zod";

const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no"])
  .transform((v) => v === "true" || v === "1" || v === "yes");

const optionalUrl = z.url().optional();
const emptyAsUndefined = (v: unknown) => (v === "" ? undefined : v);

/** Configuration of a deprecated API version: `v1:2026-01-01:2027-01-01,v2:...` */
const deprecations = z
  .string()
  .default("")
  .transform((raw, ctx) => {
    const out: Array<{ version: string; deprecatedAt: Date; sunsetAt: Date }> = [];
    for (const part of raw
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean)) {
      const [version, dep, sunset] = part.split(":");
      const deprecatedAt = new Date(dep ?? "");
      const sunsetAt = new Date(sunset ?? "");
      if (!version || !/^v\d+$/.test(version) || Number.isNaN(+deprecatedAt) || Number.isNaN(+sunsetAt)) {
        ctx.addIssue({ code: "custom", message: `expected vN:YYYY-MM-DD:YYYY-MM-DD, got "${part}"` });
        return z.NEVER;
      }
      out.push({ version, deprecatedAt, sunsetAt });
    }
    return out;
  });

/** A rate rule `1000/60s` (also `10/1m`, `5000/1h`). */
const rateSpec = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((raw, ctx) => {
      const m = /^\s*(\d{1,9})\s*\/\s*(\d{1,7})\s*([smh]?)\s*$/.exec(raw);
      const unit = { s: 1, m: 60, h: 3600 }[(m?.[3] || "s") as "s" | "m" | "h"];
      const limit = Number(m?.[1]);
      const windowSeconds = Number(m?.[2]) * unit;
      if (!m || limit < 1 || windowSeconds < 1) {
        ctx.addIssue({ code: "custom", message: `expected <requests>/<seconds>[s|m|h], got "${raw}"` });
        return z.NEVER;
      }
      return { limit, windowSeconds };
    });

export const ConfigSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: z.coerce.number().int().min(0).max(65535).default(8787),
  DATA_DIR: z.string().min(1).default(".data"),
  /** Where the migrated PGlite template a new DATA_DIR starts from lives (unset: the OS temp folder). */
  PGLITE_TEMPLATE_DIR: z.preprocess(emptyAsUndefined, z.string().optional()),
  DATABASE_URL: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL")
      .optional(),
  ),
  /** Local or self-hosted Neon WebSocket proxy host (e.g. 127.0.0.1:4444/v1); unset = Neon's own. */
  NEON_WS_PROXY: z.preprocess(emptyAsUndefined, z.string().optional()),
  /**
   * Neon: statements outside interactive transactions over HTTP, one fetch each (default); false
   * puts everything on the WebSocket Pool (a connection per Worker request). With NEON_WS_PROXY the
   * HTTP endpoint is that proxy's `/sql`.
   */
  NEON_HTTP: z.preprocess(emptyAsUndefined, bool.default(true)),
  REDIS_URL: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^rediss?:\/\//, "must be a redis:// URL")
      .optional(),
  ),
  UPSTASH_REDIS_REST_URL: z.preprocess(emptyAsUndefined, optionalUrl),
  UPSTASH_REDIS_REST_TOKEN: z.preprocess(emptyAsUndefined, z.string().min(1).optional()),
  LOG_LEVEL: z.enum(LOG_LEVELS).default("info"),
  JWT_SECRET: z.preprocess(emptyAsUndefined, z.string().min(32, "must be at least 32 characters").optional()),
  BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
  TRUST_PROXY: z.preprocess(emptyAsUndefined, bool.default(false)),
  ADMIN_EMAIL: z.preprocess(emptyAsUndefined, z.email().optional()),
  ADMIN_PASSWORD: z.preprocess(emptyAsUndefined, z.string().optional()),
  /** Identity: access JWT lifetime, opaque refresh token lifetime (renewed on each rotation). */
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(30).max(86_400).default(900),
  REFRESH_TOKEN_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .default(30 * 24 * 3600),
  /** Login attempts per fixed window, per account (failures) and per client IP (all attempts). */
  LOGIN_WINDOW_SECONDS: z.coerce.number().int().positive().default(900),
  LOGIN_MAX_PER_ACCOUNT: z.coerce.number().int().positive().default(5),
  LOGIN_MAX_PER_IP: z.coerce.number().int().positive().default(20),
  SEED_DEMO: z.preprocess(emptyAsUndefined, bool.default(true)),
  API_DEPRECATIONS: deprecations,
  API_MIGRATION_DOC: z.string().default("https://docs.horizon.example/migrations"),
  /** PartyKit rooms host (e.g. horizon.me.partykit.dev); unset = in-process rooms (standalone). */
  PARTYKIT_HOST: z.preprocess(emptyAsUndefined, z.string().min(1).optional()),
  /** Shared secret the API presents when publishing into PartyKit rooms. */
  PARTYKIT_SECRET: z.preprocess(
    emptyAsUndefined,
    z.string().min(16, "must be at least 16 characters").optional(),
  ),
  /** QStash (the edge queue transport): publish token, and its API (unset: QStash's own). */
  QSTASH_TOKEN: z.preprocess(emptyAsUndefined, z.string().min(1).optional()),
  QSTASH_URL: z.preprocess(emptyAsUndefined, optionalUrl),
  /** Keys QStash signs its callbacks with; the consumer accepts either, so keys rotate without downtime. */
  QSTASH_CURRENT_SIGNING_KEY: z.preprocess(emptyAsUndefined, z.string().min(1).optional()),
  QSTASH_NEXT_SIGNING_KEY: z.preprocess(emptyAsUndefined, z.string().min(1).optional()),
  /**
   * Public base URL QStash calls back (the Bun job service or the edge API), e.g.
   * https://jobs.horizon.example; the consumer routes hang below it and a callback's signature
   * must name that exact URL. Unset: the consumer checks against the URL it was called on.
   */
  QSTASH_CONSUMER_URL: z.preprocess(emptyAsUndefined, optionalUrl),
  /**
   * Public base URL of the job service (workers/jobs.ts). Events of QSTASH_JOBS_FAMILIES (topic
   * `<family>.<name>`) are called back there instead of QSTASH_CONSUMER_URL: their handlers need
   * Node APIs a Worker lacks. Unset: every event goes to QSTASH_CONSUMER_URL.
   */
  QSTASH_JOBS_URL: z.preprocess(emptyAsUndefined, optionalUrl),
  QSTASH_JOBS_FAMILIES: z.string().default("notifications,webhooks,files"),
  /** Clients ping this often; a connection silent for REALTIME_HEARTBEAT_TIMEOUT_MS is dropped. */
  REALTIME_HEARTBEAT_INTERVAL_MS: z.coerce.number().int().min(50).default(25_000),
  REALTIME_HEARTBEAT_TIMEOUT_MS: z.coerce.number().int().min(100).default(60_000),
  REALTIME_MAX_CONNECTIONS_PER_USER: z.coerce.number().int().min(1).default(20),
  REALTIME_MAX_FRAME_BYTES: z.coerce
    .number()
    .int()
    .min(256)
    .default(64 * 1024),
  REALTIME_TOKEN_TTL_SECONDS: z.coerce.number().int().min(5).max(3600).default(60),
  /**
   * Standalone/Bun hosts: the realtime bus between rooms, SSE streams and writers. `memory` = one
   * process; `redis` = Redis pub/sub over REDIS_URL, for several replicas behind one proxy.
   */
  REALTIME_BUS: z.enum(["memory", "redis"]).default("memory"),
  /** Sync push: client clocks further ahead of the server than this are clamped (ADR 0002). */
  SYNC_MAX_CLOCK_SKEW_MS: z.coerce.number().int().min(0).default(60_000),
  /** Sync push: most ops accepted in one request; more answers 413 PAYLOAD_TOO_LARGE. */
  SYNC_MAX_OPS_PER_PUSH: z.coerce.number().int().min(1).max(10_000).default(500),
  /** Sync: tombstones (soft-deleted rows) older than this are purged; older cursors then get 410. */
  SYNC_TOMBSTONE_RETENTION_DAYS: z.coerce.number().int().min(1).default(30),
  /**
   * Sync: op records (what makes a replayed push op answer its first result) older than this are
   * purged. A replay after that is still not applied twice (a create, edit or delete finds its own
   * clock on the row and is answered applied); see ADR 0002 for the one case that is not covered.
   */
  SYNC_OP_RETENTION_DAYS: z.coerce.number().int().min(1).default(180),
  /** Outbox: how long a consumer holds an event it runs; a consumer that dies frees it after this. */
  OUTBOX_CLAIM_LEASE_MS: z.coerce.number().int().min(100).default(60_000),
  /** Outbox: the in-process dispatcher's safety-net poll (fresh events wake it at once). */
  OUTBOX_POLL_MS: z.coerce.number().int().min(10).default(5_000),
  /** Outbox: delivered rows are deleted after this. Dead rows stay until replayed. */
  OUTBOX_RETENTION_HOURS: z.coerce.number().min(0).default(24),
  /** Outbox: /health/ready reports degraded past this many pending due events... */
  OUTBOX_BACKLOG_DEGRADED: z.coerce.number().int().min(1).default(10_000),
  /** ...or when the oldest due event has waited longer than this. */
  OUTBOX_BACKLOG_MAX_AGE_SECONDS: z.coerce.number().int().min(1).default(300),
  /**
   * Versions mounted under /api; deprecations above apply to these. Only v1 by default: a v2 is
   * served once something in it differs from v1 (a module's `versions` or a v2-only route), so
   * clients are never offered two identical contracts. `v1,v2` mounts both (tests do).
   */
  API_VERSIONS: z
    .string()
    .default("v1")
    .transform((raw, ctx) => {
      const list = [
        ...new Set(
          raw
            .split(",")
            .map((s) => s.trim())
            .filter(Boolean),
        ),
      ];
      if (!list.length || list.some((v) => !/^v\d+$/.test(v))) {
        ctx.addIssue({ code: "custom", message: `expected a list like v1,v2, got "${raw}"` });
        return z.NEVER;
      }
      return list;
    }),
  /** Responses smaller than this are sent uncompressed (compression costs more than it saves). */
  COMPRESSION_MIN_BYTES: z.coerce.number().int().min(0).default(1024),
  RATE_LIMIT_ENABLED: z.preprocess(emptyAsUndefined, bool.default(true)),
  /** `<requests>/<window>` per user (or per IP when anonymous) per route class. */
  RATE_LIMIT_AUTH: rateSpec("10/60s"),
  RATE_LIMIT_WRITE: rateSpec("120/60s"),
  RATE_LIMIT_READ: rateSpec("1000/60s"),
  /** Path fragments (after the version prefix) that make a route an `auth` class route. */
  RATE_LIMIT_AUTH_PATHS: z
    .string()
    .default("/auth/")
    .transform((raw) =>
      raw
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  /** Past this the limiter counts as down: reads and writes pass, auth routes answer 503. */
  RATE_LIMIT_TIMEOUT_MS: z.coerce.number().int().positive().default(250),
  /** Default stale-while-revalidate window of the cache service. */
  CACHE_STALE_SECONDS: z.coerce.number().int().min(0).default(60),
  /** Deadline of one kv call (Redis, Upstash); failures open the kv circuit breaker (platform/breaker.ts). */
  KV_TIMEOUT_MS: z.coerce.number().int().positive().default(500),
  /**
   * Prefix of every key this deployment writes to Redis or Upstash (kv entries, rate-limit
   * counters under `<prefix>rl`, the Redis realtime bus under `<prefix>realtime`): two deployments
   * sharing one database (staging beside production, or test Workers beside each other) keep
   * apart by giving each its own.
   */
  KV_PREFIX: z
    .string()
    .regex(/^[\w.:-]{1,64}$/, "letters, digits and . _ : - only, at most 64")
    .default("horizon:"),
  /**
   * Object storage (files module): `filesystem` (under DATA_DIR/storage, URLs signed and served by
   * the app) or `s3` (S3, R2, MinIO). Unset: s3 when S3_BUCKET is set, else filesystem.
   */
  STORAGE_DRIVER: z.preprocess(emptyAsUndefined, z.enum(["filesystem", "s3"]).optional()),
  /** S3/R2: endpoint (R2: https://<account>.r2.cloudflarestorage.com; unset: AWS), region (R2: auto). */
  S3_ENDPOINT: z.preprocess(emptyAsUndefined, optionalUrl),
  S3_REGION: z.string().min(1).default("auto"),
  S3_BUCKET: z.preprocess(emptyAsUndefined, z.string().min(1).optional()),
  S3_ACCESS_KEY_ID: z.preprocess(emptyAsUndefined, z.string().min(1).optional()),
  S3_SECRET_ACCESS_KEY: z.preprocess(emptyAsUndefined, z.string().min(1).optional()),
  /** Bucket in the path instead of the host name (R2, MinIO). Unset: on when S3_ENDPOINT is set. */
  S3_FORCE_PATH_STYLE: z.preprocess(emptyAsUndefined, bool.optional()),
  /** Filesystem storage: HMAC key of its signed URLs. Unset: derived from JWT_SECRET (else per process). */
  STORAGE_SIGNING_SECRET: z.preprocess(
    emptyAsUndefined,
    z.string().min(32, "must be at least 32 characters").optional(),
  ),
  /** Filesystem storage: public base of its signed URLs. Unset: the origin the API was called on. */
  STORAGE_PUBLIC_URL: z.preprocess(emptyAsUndefined, optionalUrl),
  /** Presigned upload URLs (and an upload's deadline to complete) last this long. */
  UPLOAD_URL_TTL_SECONDS: z.coerce.number().int().min(60).max(604_800).default(3600),
  /** Signed download URLs (original and thumbnails) last this long. */
  DOWNLOAD_URL_TTL_SECONDS: z.coerce.number().int().min(1).max(604_800).default(300),
  /** Uploads larger than this use multipart (S3's smallest part is 5 MiB). */
  UPLOAD_MULTIPART_THRESHOLD_BYTES: z.coerce
    .number()
    .int()
    .min(5 * 1024 * 1024)
    .default(8 * 1024 * 1024),
  /** Preferred multipart part size; grown for huge files so no upload needs over 10,000 parts. */
  UPLOAD_PART_SIZE_BYTES: z.coerce
    .number()
    .int()
    .min(5 * 1024 * 1024)
    .max(5 * 1024 * 1024 * 1024)
    .default(8 * 1024 * 1024),
  /** Housekeeping deletes quarantined objects and never-completed uploads older than this. */
  UPLOAD_QUARANTINE_MAX_AGE_HOURS: z.coerce.number().min(1).default(24),
  /**
   * File processing: ClamAV's clamd (INSTREAM) at CLAMD_HOST:CLAMD_PORT or the Unix socket
   * CLAMD_SOCKET. Unset: uploads are sniffed and processed but not scanned. CLAMD_MAX_STREAM_BYTES
   * must not exceed clamd's own StreamMaxLength (clamd.conf; its default is 25M, set it to 100M to
   * scan every purpose's largest upload); larger files are rejected, never promoted unscanned.
   */
  CLAMD_HOST: z.preprocess(emptyAsUndefined, z.string().min(1).optional()),
  CLAMD_PORT: z.coerce.number().int().min(1).max(65535).default(3310),
  CLAMD_SOCKET: z.preprocess(emptyAsUndefined, z.string().min(1).optional()),
  CLAMD_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  CLAMD_MAX_STREAM_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(100 * 1024 * 1024),
  /** Images with more pixels than this (from the header, before decoding) are rejected: decompression bombs. */
  IMAGE_MAX_INPUT_PIXELS: z.coerce.number().int().min(1).default(50_000_000),
  /** Longest side of the stored (re-encoded) original; larger photos are scaled down. */
  IMAGE_MAX_DIMENSION: z.coerce.number().int().min(600).max(16_383).default(2560),
  /** Format of the processed original and thumbnails: webp (default) or avif (smaller, slower to encode). */
  IMAGE_FORMAT: z.enum(["webp", "avif"]).default("webp"),
  /**
   * Outbound requests to user-given URLs (webhooks, Web Push) go to public https hosts on ports
   * 443/80/8443 only. Hosts listed here (`host` or `host:port`, comma separated) may also be plain
   * http, private or loopback addresses and other ports (src/platform/net/ssrf.ts).
   */
  OUTBOUND_ALLOW_HOSTS: z
    .string()
    .default("")
    .transform((raw) =>
      raw
        .split(",")
        .map((s) => s.trim().toLowerCase())
        .filter(Boolean),
    ),
  /** Webhooks: deadline of one delivery attempt (connect to end of the first 1 KB of body). */
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(15_000),
  /** Webhooks: how long an endpoint's open circuit holds deliveries before probing (seed: 30 s). */
  WEBHOOK_BREAKER_OPEN_MS: z.coerce.number().int().min(100).default(30_000),
  /** Webhooks: an endpoint with no successful delivery for this long while failing is disabled. */
  WEBHOOK_DISABLE_AFTER_HOURS: z.coerce.number().min(0).default(120),
  /** Operator alerts (5xx bursts, dead outbox events, open breakers) are POSTed to this URL as JSON. */
  ALERT_WEBHOOK_URL: z.preprocess(emptyAsUndefined, optionalUrl),
  /**
   * Push providers (src/platform/push). Web Push: the VAPID key pair (base64url, as web-push
   * generates them) and the contact the push services see; unset, the standalone host generates a
   * pair into DATA_DIR. Set together.
   */
  VAPID_PUBLIC_KEY: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^[A-Za-z0-9_-]{80,100}$/)
      .optional(),
  ),
  VAPID_PRIVATE_KEY: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^[A-Za-z0-9_-]{40,50}$/)
      .optional(),
  ),
  VAPID_SUBJECT: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^(mailto:|https:\/\/)\S+$/)
      .optional(),
  ),
  /** FCM: the Firebase service account JSON (project_id, client_email, private_key). */
  FCM_SERVICE_ACCOUNT: z.preprocess(emptyAsUndefined, z.string().min(2).optional()),
  /** APNs token auth: key id and team id (10 characters each), the .p8 key (PEM), the app's bundle id. */
  APNS_KEY_ID: z.preprocess(emptyAsUndefined, z.string().min(1).optional()),
  APNS_TEAM_ID: z.preprocess(emptyAsUndefined, z.string().min(1).optional()),
  APNS_PRIVATE_KEY: z.preprocess(emptyAsUndefined, z.string().min(1).optional()),
  APNS_BUNDLE_ID: z.preprocess(emptyAsUndefined, z.string().min(1).optional()),
  /** APNs endpoint: production (default) or sandbox (development builds), or a full https origin. */
  APNS_HOST: z.preprocess(
    emptyAsUndefined,
    z.union([z.enum(["production", "sandbox"]), z.url()]).default("production"),
  ),
  /**
   * Which providers send for real, comma separated (webpush, fcm, apns); default: every provider
   * whose credentials are set. A device of a provider that is not enabled gets the log provider.
   */
  PUSH_PROVIDERS: z.preprocess(emptyAsUndefined, z.string().optional()),
  /** Push delivery-log rows (push_deliveries) are deleted after this many days. */
  PUSH_DELIVERY_RETENTION_DAYS: z.coerce.number().min(0).default(30),
});

export type Config = z.infer<typeof ConfigSchema>;

export class ConfigError extends Error {
  constructor(readonly issues: Array<{ variable: string; message: string }>) {
    super(`invalid configuration: ${issues.map((i) => `${i.variable}: ${i.message}`).join("; ")}`);
    this.name = "ConfigError";
  }
}

/** Parses an environment (process.env, Worker bindings) into a Config or throws ConfigError. */
export function parseConfig(env: Record<string, unknown>): Config {
  const known: Record<string, unknown> = {};
  for (const key of Object.keys(ConfigSchema.shape)) {
    const v = env[key];
    if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") known[key] = String(v);
  }
  const parsed = ConfigSchema.safeParse(known);
  if (parsed.success) {
    const cfg = parsed.data;
    if (Boolean(cfg.UPSTASH_REDIS_REST_URL) !== Boolean(cfg.UPSTASH_REDIS_REST_TOKEN)) {
      throw new ConfigError([
        {
          variable: cfg.UPSTASH_REDIS_REST_URL ? "UPSTASH_REDIS_REST_TOKEN" : "UPSTASH_REDIS_REST_URL",
          message: "UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN are set together",
        },
      ]);
    }
    if (cfg.REALTIME_BUS === "redis" && !cfg.REDIS_URL) {
      throw new ConfigError([{ variable: "REDIS_URL", message: "REALTIME_BUS=redis needs REDIS_URL" }]);
    }
    if (Boolean(cfg.PARTYKIT_HOST) !== Boolean(cfg.PARTYKIT_SECRET)) {
      throw new ConfigError([
        {
          variable: cfg.PARTYKIT_HOST ? "PARTYKIT_SECRET" : "PARTYKIT_HOST",
          message: "PARTYKIT_HOST and PARTYKIT_SECRET are set together",
        },
      ]);
    }
    if (Boolean(cfg.QSTASH_CURRENT_SIGNING_KEY) !== Boolean(cfg.QSTASH_NEXT_SIGNING_KEY)) {
      throw new ConfigError([
        {
          variable: cfg.QSTASH_CURRENT_SIGNING_KEY ? "QSTASH_NEXT_SIGNING_KEY" : "QSTASH_CURRENT_SIGNING_KEY",
          message: "QSTASH_CURRENT_SIGNING_KEY and QSTASH_NEXT_SIGNING_KEY are set together",
        },
      ]);
    }
    if (cfg.QSTASH_TOKEN && !cfg.QSTASH_CONSUMER_URL) {
      throw new ConfigError([
        {
          variable: "QSTASH_CONSUMER_URL",
          message: "required with QSTASH_TOKEN: QStash needs a URL to call back",
        },
      ]);
    }
    if (Boolean(cfg.VAPID_PUBLIC_KEY) !== Boolean(cfg.VAPID_PRIVATE_KEY)) {
      throw new ConfigError([
        {
          variable: cfg.VAPID_PUBLIC_KEY ? "VAPID_PRIVATE_KEY" : "VAPID_PUBLIC_KEY",
          message: "VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY are set together",
        },
      ]);
    }
    const apns = [cfg.APNS_KEY_ID, cfg.APNS_TEAM_ID, cfg.APNS_PRIVATE_KEY, cfg.APNS_BUNDLE_ID];
    if (apns.some(Boolean) && !apns.every(Boolean)) {
      throw new ConfigError([
        {
          variable: ["APNS_KEY_ID", "APNS_TEAM_ID", "APNS_PRIVATE_KEY", "APNS_BUNDLE_ID"][
            apns.findIndex((v) => !v)
          ]!,
          message: "APNS_KEY_ID, APNS_TEAM_ID, APNS_PRIVATE_KEY and APNS_BUNDLE_ID are set together",
        },
      ]);
    }
    if (cfg.STORAGE_DRIVER === "s3" || (!cfg.STORAGE_DRIVER && cfg.S3_BUCKET)) {
      const missing = (["S3_BUCKET", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"] as const).find(
        (k) => !cfg[k],
      );
      if (missing) {
        throw new ConfigError([{ variable: missing, message: "required for S3 storage" }]);
      }
    }
    if (Boolean(cfg.ADMIN_EMAIL) !== Boolean(cfg.ADMIN_PASSWORD)) {
      throw new ConfigError([
        {
          variable: cfg.ADMIN_EMAIL ? "ADMIN_PASSWORD" : "ADMIN_EMAIL",
          message: "ADMIN_EMAIL and ADMIN_PASSWORD are set together",
        },
      ]);
    }
    return cfg;
  }
  throw new ConfigError(
    parsed.error.issues.map((i) => ({ variable: String(i.path[0] ?? "?"), message: i.message })),
  );
}
