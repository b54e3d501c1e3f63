/**
 * Stops a deploy before it starts when a secret is missing, naming each one and where it goes:
 *
 *   tsx scripts/deploy/check-secrets.ts --env staging
 *
 * Reads the job's environment (the deploy workflow maps the GitHub environment's secrets into
 * it). Exit 0 when all are set, 1 naming the missing ones, 2 on a usage error.
 */
import { parseArgs } from "node:util";
import { missingSecrets, REQUIRED_SECRETS } from "./secrets";
import { DEPLOY_ENVS, type DeployEnv } from "./wrangler";

export function secretsReport(
  env: DeployEnv,
  source: Record<string, string | undefined>,
): { ok: boolean; lines: string[] } {
  const missing = missingSecrets(env, source);
  if (missing.length === 0)
    return { ok: true, lines: [`all ${REQUIRED_SECRETS[env].length} secrets of ${env} are set`] };
  return {
    ok: false,
    lines: [
      `deploy to ${env} stopped: ${missing.length} secret(s) missing`,
      ...missing.map(
        (m) =>
          `  missing secret ${m.name} (for ${m.targets.join(", ")}): ${m.what}; set it in the GitHub environment "${env}"`,
      ),
    ],
  };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, "/"))) {
  const { values } = parseArgs({ options: { env: { type: "string" } } });
  const env = values.env as DeployEnv;
  if (!DEPLOY_ENVS.includes(env)) {
    console.error(`check-secrets: --env must be one of ${DEPLOY_ENVS.join(", ")}`);
    process.exit(2);
  }
  const report = secretsReport(env, process.env);
  for (const line of report.lines) (report.ok ? console.log : console.error)(line);
  process.exit(report.ok ? 0 : 1);
}
