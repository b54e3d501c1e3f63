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

export const ConfigSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: z.coerce.number().int().min(0).max(65535).default(8787),
  DATA_DIR: z.string().min(1).default(".data"),
  DATABASE_URL: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL")
      .optional(),
  ),
  /** Local or self-hosted Neon WebSocket proxy host (e.g. 127.0.0.1:4444/v1); unset = Neon's own. */
  NEON_WS_PROXY: z.preprocess(emptyAsUndefined, z.string().optional()),
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
  SEED_DEMO: z.preprocess(emptyAsUndefined, bool.default(true)),
  API_DEPRECATIONS: deprecations,
  API_MIGRATION_DOC: z.string().default("https://docs.horizon.example/migrations"),
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
