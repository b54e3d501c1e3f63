/**
 * Gated gradual deploy of the edge Worker with automatic rollback:
 *   1. read the version serving 100% now (the one to roll back to);
 *   2. `wrangler versions upload` the new code (no traffic yet);
 *   3. `wrangler versions deploy new@P% old@(100-P)%`;
 *   4. probe the new version directly (Cloudflare-Workers-Version-Overrides) every interval:
 *      /health/ready, a synthetic sign-in + read, a small pinned load counted for 5xx;
 *   5. after each round ask decide(): promote to 100% or roll back to the previous version, and
 *      print which and why. Exit 0 on promotion, 1 on rollback, 2 on a usage/setup error.
 *
 *   tsx scripts/deploy/rollout.ts --env staging [--percentage 10[,50]] [--window 300] [--interval 15]
 *
 * Environment: CLOUDFLARE_API_TOKEN, CLOUDFLARE_ACCOUNT_ID (wrangler), API_BASE_URL (the
 * environment's public URL), SMOKE_EMAIL, SMOKE_PASSWORD (the synthetic account).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { secretsReport } from "./check-secrets";
import { DEFAULT_POLICY, type Decision, decide, type Observation, type RolloutPolicy } from "./decide";
import { type ProbeSession, type ProbeTarget, probeRound } from "./probes";
import { secretsFor } from "./secrets";
import {
  type Argv,
  DEPLOY_ENVS,
  type DeployEnv,
  parseDeploymentStatus,
  parseUploadedVersion,
  previousVersion,
  WORKER_NAMES,
  wranglerCommands,
} from "./wrangler";

/** Runs one wrangler command; answers its stdout and the structured output file's content. */
export type WranglerRunner = (argv: Argv) => Promise<{ stdout: string; outputFile?: string }>;

export interface RolloutOptions {
  env: DeployEnv;
  /** Canary shares in order (e.g. [10, 50]); each is watched for a whole window before the next. */
  percentages: number[];
  intervalMs: number;
  policy: RolloutPolicy;
  message: string;
  tag?: string;
  /** JSON file of the Worker's secrets, uploaded with the version (secrets.ts `secretsFor`). */
  secretsFile?: string;
  target: Omit<ProbeTarget, "workerName" | "versionId">;
  wrangler: WranglerRunner;
  probe?: (target: ProbeTarget, atMs: number, session: ProbeSession) => Promise<Observation[]>;
  /** Milliseconds since an arbitrary origin, and a way to wait (tests pass a fake clock). */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  log?: (line: string) => void;
}

export interface RolloutResult {
  decision: Decision;
  newVersion: string;
  previousVersion: string | null;
  observations: Observation[];
}

/** The version serving 100% now; null for a Worker never deployed (wrangler: "has no deployments"). */
async function servingVersion(o: RolloutOptions): Promise<string | null> {
  let stdout: string;
  try {
    ({ stdout } = await o.wrangler(wranglerCommands.status(o.env)));
  } catch (err) {
    if (/has no deployments/i.test(String(err))) return null;
    throw err;
  }
  return previousVersion(parseDeploymentStatus(stdout));
}

export async function runRollout(o: RolloutOptions): Promise<RolloutResult> {
  const now = o.now ?? (() => performance.now());
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const log = o.log ?? ((line: string) => console.log(line));
  const probe = o.probe ?? ((target, at, session) => probeRound(target, at, fetch, session));

  const previous = await servingVersion(o);
  const upload = await o.wrangler(
    wranglerCommands.upload(o.env, { message: o.message, tag: o.tag, secretsFile: o.secretsFile }),
  );
  const next = parseUploadedVersion(upload.outputFile, upload.stdout);
  log(`uploaded version ${next} (previous: ${previous ?? "none"})`);

  const steps = previous ? o.percentages : [100];
  const all: Observation[] = [];
  const session: ProbeSession = { rounds: 0 };
  let decision: Decision = { action: "continue", reason: "not started" };
  for (const [i, percentage] of steps.entries()) {
    if (previous) {
      await o.wrangler(
        wranglerCommands.split(o.env, next, previous, percentage, `canary ${percentage}% ${o.message}`),
      );
      log(`canary step ${i + 1}/${steps.length}: ${percentage}% of traffic to ${next}`);
    } else {
      // First deploy: nothing to split with or roll back to. Serve it, probe it, and fail loudly.
      await o.wrangler(wranglerCommands.only(o.env, next, `first deploy ${o.message}`));
      log(`first deploy: ${next} serves 100% (no previous version to roll back to)`);
    }
    // Each step is judged on its own window: a larger share must prove itself again, sign-ins included.
    session.rounds = 0;
    const start = now();
    const observations: Observation[] = [];
    for (;;) {
      const at = Math.round(now() - start);
      observations.push(
        ...(await probe({ ...o.target, workerName: WORKER_NAMES[o.env], versionId: next }, at, session)),
      );
      decision = decide(observations, Math.round(now() - start), o.policy, next);
      if (decision.action !== "continue") break;
      await sleep(o.intervalMs);
    }
    all.push(...observations);
    if (decision.action === "rollback") break;
    if (i < steps.length - 1) log(`step ${i + 1} healthy at ${percentage}%: ${decision.reason}`);
  }

  if (decision.action === "promote") {
    if (previous) await o.wrangler(wranglerCommands.only(o.env, next, `promote ${o.message}`));
    log(`PROMOTED ${next} to 100%: ${decision.reason}`);
  } else if (previous) {
    await o.wrangler(wranglerCommands.only(o.env, previous, `rollback ${o.message}`));
    log(`ROLLED BACK to ${previous} (100%), ${next} gets no traffic: ${decision.reason}`);
  } else {
    log(`FAILED first deploy of ${next}; no previous version to roll back to: ${decision.reason}`);
  }
  return { decision, newVersion: next, previousVersion: previous, observations: all };
}

/** Runs wrangler from node_modules with a structured output file per call. */
export const spawnWrangler: WranglerRunner = async (argv) => {
  const dir = mkdtempSync(join(tmpdir(), "wrangler-out-"));
  const outputPath = join(dir, "out.ndjson");
  try {
    const [bin, ...args] = argv;
    const r = spawnSync("npx", [bin!, ...args], {
      encoding: "utf8",
      env: { ...process.env, WRANGLER_OUTPUT_FILE_PATH: outputPath },
      stdio: ["ignore", "pipe", "pipe"],
    });
    process.stderr.write(r.stderr ?? "");
    if (r.status !== 0) throw new Error(`${argv.join(" ")} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
    let outputFile: string | undefined;
    try {
      outputFile = readFileSync(outputPath, "utf8");
    } catch {
      outputFile = undefined;
    }
    return { stdout: r.stdout, outputFile };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

function required(name: string): string {
  const v = process.env[name];
  if (!v) {
    console.error(`rollout: ${name} is not set`);
    process.exit(2);
  }
  return v;
}

async function main() {
  const { values } = parseArgs({
    options: {
      env: { type: "string" },
      percentage: { type: "string", default: "10,50" },
      window: { type: "string", default: String(DEFAULT_POLICY.windowMs / 1000) },
      interval: { type: "string", default: "15" },
      message: { type: "string", default: process.env.GITHUB_SHA ?? "manual rollout" },
    },
  });
  const env = values.env as DeployEnv;
  if (!DEPLOY_ENVS.includes(env)) {
    console.error(`rollout: --env must be one of ${DEPLOY_ENVS.join(", ")}`);
    process.exit(2);
  }
  const report = secretsReport(env, process.env);
  if (!report.ok) {
    for (const line of report.lines) console.error(line);
    process.exit(1);
  }
  const dir = mkdtempSync(join(tmpdir(), "horizon-secrets-"));
  const secretsFile = join(dir, "worker-secrets.json");
  writeFileSync(secretsFile, JSON.stringify(secretsFor(env, "worker", process.env)), { mode: 0o600 });
  const result = await runRollout({
    secretsFile,
    env,
    percentages: values.percentage!.split(",").map(Number),
    intervalMs: Number(values.interval) * 1000,
    policy: { ...DEFAULT_POLICY, windowMs: Number(values.window) * 1000 },
    message: values.message!,
    tag: process.env.GITHUB_SHA?.slice(0, 12),
    target: {
      baseUrl: required("API_BASE_URL"),
      email: required("SMOKE_EMAIL"),
      password: required("SMOKE_PASSWORD"),
    },
    wrangler: spawnWrangler,
  }).finally(() => rmSync(dir, { recursive: true, force: true }));
  process.exit(result.decision.action === "promote" ? 0 : 1);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, "/"))) await main();
