/**
 * Deploy environments (issue 20 §2): wrangler.toml's staging and production Workers, read with
 * wrangler's own config reader, and the one list of secrets per environment with the check that
 * stops a deploy naming what is missing.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";
import { secretsReport } from "../../../scripts/deploy/check-secrets";
import { missingSecrets, REQUIRED_SECRETS, secretsFor } from "../../../scripts/deploy/secrets";
import { DEPLOY_ENVS, WORKER_NAMES } from "../../../scripts/deploy/wrangler";
import { ConfigSchema } from "../../../src/config";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const SAMPLE: Record<string, string> = {
  DATABASE_URL: "postgresql://app:pw@ep-example.eu-central-1.aws.neon.tech/horizon?sslmode=require",
  UPSTASH_REDIS_REST_URL: "https://example-12345.upstash.io",
  S3_ENDPOINT: "https://0123456789abcdef.r2.cloudflarestorage.com",
  VAPID_PUBLIC_KEY: "BK6mAJoYj5aJl8ZTusKQIfXmSgekRycXXIxYImVRcUYHTYywc3SagqVN9c02XkBiqY3g8-r3UDznTGwIy-VJTpI",
  VAPID_PRIVATE_KEY: "WrTna4hwKmBzYqelphmPW847cjJcAPmxRzhYufCX6H4",
};
const allSet = (env: (typeof DEPLOY_ENVS)[number]) =>
  Object.fromEntries(
    REQUIRED_SECRETS[env].map((s) => [s.name, SAMPLE[s.name] ?? `value-of-${s.name}-0123456789-0123456789`]),
  );

describe.each(DEPLOY_ENVS)("the %s environment", (env) => {
  const config = unstable_readConfig({ config: `${ROOT}wrangler.toml`, env }, {});

  it("is its own Worker with routes, both crons, its vars and the version metadata binding", () => {
    expect(config.name).toBe(WORKER_NAMES[env]);
    expect(config.routes?.length).toBeGreaterThan(0);
    expect(config.triggers.crons).toEqual(expect.arrayContaining(["* * * * *", "17 * * * *"]));
    expect(config.vars).toMatchObject({ NODE_ENV: "production" });
    expect(config.version_metadata?.binding).toBe("CF_VERSION_METADATA");
    // Its vars parse as configuration together with the secrets (the Worker would start).
    const parsed = ConfigSchema.safeParse({ ...config.vars, ...secretsFor(env, "worker", allSet(env)) });
    expect(parsed.error?.issues ?? []).toEqual([]);
  });

  it("keeps secrets out of wrangler.toml: no required secret is a plain var", () => {
    const names = REQUIRED_SECRETS[env].map((s) => s.name);
    expect(Object.keys(config.vars).filter((v) => names.includes(v))).toEqual([]);
  });

  it("every Worker secret is a configuration variable the app reads", () => {
    const known = Object.keys(ConfigSchema.shape);
    for (const s of REQUIRED_SECRETS[env].filter((x) => x.targets.includes("worker")))
      expect(known, s.name).toContain(s.name);
  });

  it("a missing secret stops the deploy naming it; a blank one counts as missing", () => {
    const source = { ...allSet(env), JWT_SECRET: undefined, QSTASH_TOKEN: "   " };
    expect(missingSecrets(env, source).map((m) => m.name)).toEqual(["JWT_SECRET", "QSTASH_TOKEN"]);
    const report = secretsReport(env, source);
    expect(report.ok).toBe(false);
    expect(report.lines.join("\n")).toMatch(/missing secret JWT_SECRET \(for worker, party, jobs\)/);
    expect(() => secretsFor(env, "worker", source)).toThrow(/JWT_SECRET, QSTASH_TOKEN/);
    expect(secretsReport(env, allSet(env)).ok).toBe(true);
  });

  it("the Worker's secrets file holds only Worker secrets (never the CI's Cloudflare token)", () => {
    const file = secretsFor(env, "worker", allSet(env));
    expect(Object.keys(file)).toContain("DATABASE_URL");
    expect(Object.keys(file)).not.toContain("CLOUDFLARE_API_TOKEN");
    expect(Object.keys(file)).not.toContain("SMOKE_PASSWORD");
  });
});

describe("check-secrets as the workflow runs it", () => {
  it("exits 1 naming the missing secret, 0 when all are set", async () => {
    const run = (env: Record<string, string>) =>
      promisify(execFile)(
        `${ROOT}node_modules/.bin/tsx`,
        ["scripts/deploy/check-secrets.ts", "--env", "staging"],
        {
          cwd: ROOT,
          env: { PATH: process.env.PATH ?? "", ...env },
        },
      ).then(
        (r) => ({ code: 0, out: r.stdout + r.stderr }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
      );
    const { PARTYKIT_TOKEN: _, ...withoutOne } = allSet("staging");
    const missing = await run(withoutOne);
    expect(missing.code).toBe(1);
    expect(missing.out).toMatch(/missing secret PARTYKIT_TOKEN/);
    expect(await run(allSet("staging"))).toMatchObject({ code: 0 });
  });
});
