/**
 * The secrets each deploy environment needs, in one place. GitHub environment secrets
 * (`staging`, `production`) are the single source: the deploy workflow maps them into the job's
 * environment, `check-secrets.ts` stops the deploy naming any that is missing, and the rollout
 * uploads the Worker's share with the version (`wrangler versions upload --secrets-file`), so a
 * rollback also restores the secrets that version ran with. PartyKit and the job service get
 * theirs at their own deploy step from the same source.
 *
 * A module that adds a secret to src/config.ts adds its name here.
 */
import type { DeployEnv } from "./wrangler";

export type SecretTarget = "ci" | "worker" | "party" | "jobs";

export interface SecretSpec {
  name: string;
  /** Where the secret ends up. `ci` = used by the workflow itself (never shipped). */
  targets: readonly SecretTarget[];
  what: string;
}

const COMMON: readonly SecretSpec[] = [
  {
    name: "CLOUDFLARE_API_TOKEN",
    targets: ["ci"],
    what: "wrangler: Workers Scripts edit + Account Analytics read",
  },
  { name: "CLOUDFLARE_ACCOUNT_ID", targets: ["ci"], what: "wrangler: the Cloudflare account" },
  {
    name: "PARTYKIT_LOGIN",
    targets: ["ci"],
    what: "partykit deploy: the GitHub login that owns the project",
  },
  { name: "PARTYKIT_TOKEN", targets: ["ci"], what: "partykit deploy: `npx partykit token generate`" },
  { name: "SMOKE_EMAIL", targets: ["ci"], what: "the synthetic account the rollout probes sign in with" },
  { name: "SMOKE_PASSWORD", targets: ["ci"], what: "its password" },
  {
    name: "DATABASE_URL",
    targets: ["ci", "worker", "jobs"],
    what: "Neon connection string (migrations from CI, the Worker's Pool, the job service)",
  },
  { name: "UPSTASH_REDIS_REST_URL", targets: ["worker"], what: "Upstash Redis REST endpoint" },
  { name: "UPSTASH_REDIS_REST_TOKEN", targets: ["worker"], what: "Upstash Redis REST token" },
  {
    name: "JWT_SECRET",
    targets: ["worker", "party", "jobs"],
    what: "signs access and room tokens (≥ 32 chars)",
  },
  {
    name: "PARTYKIT_SECRET",
    targets: ["worker", "party"],
    what: "the Worker's shared secret with the rooms",
  },
  { name: "QSTASH_TOKEN", targets: ["worker", "jobs"], what: "QStash publish token" },
  { name: "QSTASH_CURRENT_SIGNING_KEY", targets: ["worker", "jobs"], what: "verifies QStash callbacks" },
  {
    name: "QSTASH_NEXT_SIGNING_KEY",
    targets: ["worker", "jobs"],
    what: "verifies QStash callbacks after key rotation",
  },
  {
    name: "S3_ENDPOINT",
    targets: ["worker", "jobs"],
    what: "R2's S3 endpoint, https://<account id>.r2.cloudflarestorage.com",
  },
  {
    name: "S3_ACCESS_KEY_ID",
    targets: ["worker", "jobs"],
    what: "R2 API token: access key id (Object Read & Write)",
  },
  { name: "S3_SECRET_ACCESS_KEY", targets: ["worker", "jobs"], what: "R2 API token: secret access key" },
  {
    name: "VAPID_PUBLIC_KEY",
    targets: ["worker", "jobs"],
    what: "Web Push key pair, public half (`npx web-push generate-vapid-keys`): the Worker serves it, the job service signs with the pair",
  },
  {
    name: "VAPID_PRIVATE_KEY",
    targets: ["jobs"],
    what: "Web Push key pair, private half (the job service sends)",
  },
];

/** One list per environment (today the same names; each environment has its own values). */
export const REQUIRED_SECRETS: Record<DeployEnv, readonly SecretSpec[]> = {
  staging: COMMON,
  production: COMMON,
};

export interface MissingSecret {
  name: string;
  targets: readonly SecretTarget[];
  what: string;
}

/** Which required secrets of `env` (for the given targets) are unset or blank in `source`. */
export function missingSecrets(
  env: DeployEnv,
  source: Record<string, string | undefined>,
  targets: readonly SecretTarget[] = ["ci", "worker", "party", "jobs"],
): MissingSecret[] {
  return REQUIRED_SECRETS[env]
    .filter((s) => s.targets.some((t) => targets.includes(t)))
    .filter((s) => !source[s.name]?.trim())
    .map((s) => ({ name: s.name, targets: s.targets, what: s.what }));
}

/** The secrets a target receives, as a JSON object (the --secrets-file of `wrangler versions upload`). */
export function secretsFor(
  env: DeployEnv,
  target: Exclude<SecretTarget, "ci">,
  source: Record<string, string | undefined>,
): Record<string, string> {
  const missing = missingSecrets(env, source, [target]);
  if (missing.length)
    throw new Error(`missing secret(s) for ${target}: ${missing.map((m) => m.name).join(", ")}`);
  return Object.fromEntries(
    REQUIRED_SECRETS[env].filter((s) => s.targets.includes(target)).map((s) => [s.name, source[s.name]!]),
  );
}
