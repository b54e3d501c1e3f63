/**
 * The wrangler commands of a gradual rollout, built as argument lists (so tests check them
 * without Cloudflare) and the parsing of what wrangler answers. Every command names its
 * environment: a rollout never touches the top-level (unnamed) Worker by accident.
 */

export type DeployEnv = "staging" | "production";

export const DEPLOY_ENVS: readonly DeployEnv[] = ["staging", "production"];

/** The Worker name of each environment (wrangler.toml `[env.<env>] name`). */
export const WORKER_NAMES: Record<DeployEnv, string> = {
  staging: "horizon-api-staging",
  production: "horizon-api-production",
};

export type Argv = readonly string[];

export const wranglerCommands = {
  /** The deployment serving now (versions and their percentages). */
  status: (env: DeployEnv): Argv => ["wrangler", "deployments", "status", "--env", env, "--json"],

  /** Uploads the code as a version without routing traffic to it. */
  upload: (env: DeployEnv, opts: { message: string; tag?: string; secretsFile?: string }): Argv => [
    "wrangler",
    "versions",
    "upload",
    "--env",
    env,
    "--message",
    opts.message.slice(0, 100),
    ...(opts.tag ? ["--tag", opts.tag.slice(0, 25)] : []),
    // The version carries its secrets, so a rollback restores the ones it ran with.
    ...(opts.secretsFile ? ["--secrets-file", opts.secretsFile] : []),
  ],

  /** Splits traffic: `percentage` to the new version, the rest to the previous one. */
  split: (env: DeployEnv, next: string, previous: string, percentage: number, message: string): Argv => {
    if (!Number.isInteger(percentage) || percentage <= 0 || percentage >= 100)
      throw new RangeError(`canary percentage must be an integer in 1..99, got ${percentage}`);
    if (next === previous) throw new RangeError("the new and previous versions are the same");
    return [
      "wrangler",
      "versions",
      "deploy",
      `${next}@${percentage}%`,
      `${previous}@${100 - percentage}%`,
      "--env",
      env,
      "--message",
      message.slice(0, 100),
      "--yes",
    ];
  },

  /** Sends all traffic to one version: promotion of the new one, or rollback to the previous. */
  only: (env: DeployEnv, version: string, message: string): Argv => [
    "wrangler",
    "versions",
    "deploy",
    `${version}@100%`,
    "--env",
    env,
    "--message",
    message.slice(0, 100),
    "--yes",
  ],
};

/**
 * `Cloudflare-Workers-Version-Overrides` pins one request to a version while a split is in
 * force: a Dictionary Structured Header (RFC 8941) keyed by Worker name, the version id a string.
 */
export function versionOverride(workerName: string, versionId: string): Record<string, string> {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(workerName)) throw new RangeError(`not a Worker name: ${workerName}`);
  if (!/^[0-9a-f-]{36}$/i.test(versionId)) throw new RangeError(`not a version id: ${versionId}`);
  return { "Cloudflare-Workers-Version-Overrides": `${workerName}="${versionId}"` };
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

/**
 * The uploaded version id: from wrangler's structured output file (WRANGLER_OUTPUT_FILE_PATH,
 * ND-JSON, an entry of type "version-upload") when present, else from its human output
 * ("Worker Version ID: <uuid>").
 */
export function parseUploadedVersion(outputFile: string | undefined, stdout: string): string {
  for (const line of (outputFile ?? "").split("\n")) {
    if (!line.trim()) continue;
    try {
      const entry = JSON.parse(line) as { type?: string; version_id?: string };
      if (entry.type === "version-upload" && entry.version_id) return entry.version_id;
    } catch {
      // not a JSON line: ignore
    }
  }
  const m = /Version ID:\s*([0-9a-f-]{36})/i.exec(stdout);
  if (m && UUID.test(m[1]!)) return m[1]!;
  throw new Error(`could not find the uploaded version id in wrangler's output:\n${stdout.slice(-2000)}`);
}

export interface ServingVersion {
  versionId: string;
  percentage: number;
}

/** `wrangler deployments status --json`: the versions of the latest deployment and their shares. */
export function parseDeploymentStatus(json: string): ServingVersion[] {
  const parsed = JSON.parse(json) as { versions?: Array<{ version_id?: string; percentage?: number }> };
  return (parsed.versions ?? []).map((v) => {
    if (!v.version_id || typeof v.percentage !== "number")
      throw new Error(`unexpected deployment status entry: ${JSON.stringify(v)}`);
    return { versionId: v.version_id, percentage: v.percentage };
  });
}

/**
 * The version to roll back to: the one serving 100% now. A deployment already split means
 * another rollout is under way (or one was left half done): refuse rather than guess.
 */
export function previousVersion(serving: ServingVersion[]): string | null {
  if (serving.length === 0) return null;
  const full = serving.find((v) => v.percentage === 100);
  if (!full)
    throw new Error(
      `the Worker is split (${serving.map((v) => `${v.versionId}@${v.percentage}%`).join(", ")}): finish or roll back that rollout first`,
    );
  return full.versionId;
}
