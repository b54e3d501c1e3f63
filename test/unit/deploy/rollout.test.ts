/**
 * The gradual deploy script without Cloudflare (issue 20 §3): the wrangler commands it builds,
 * the parsing of wrangler's answers, the version-override header, and whole rollouts driven by a
 * stand-in for wrangler (records argv, answers like wrangler 4) with the probes hitting the real
 * app (PGlite): a healthy version is promoted, a version whose readiness fails is rolled back to
 * the previous one, each with the reason printed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_POLICY } from "../../../scripts/deploy/decide";
import { probeRound } from "../../../scripts/deploy/probes";
import { runRollout, type WranglerRunner } from "../../../scripts/deploy/rollout";
import type { Argv } from "../../../scripts/deploy/wrangler";
import {
  parseDeploymentStatus,
  parseUploadedVersion,
  previousVersion,
  versionOverride,
  wranglerCommands,
} from "../../../scripts/deploy/wrangler";
import { createTestApp, type TestApp } from "../../support/app";
import { json } from "../../support/fixtures";

const OLD = "aaaaaaaa-0000-4000-8000-000000000001";
const NEW = "bbbbbbbb-0000-4000-8000-000000000002";

describe("wrangler commands of a rollout", () => {
  it("uploads, splits, promotes and rolls back in the named environment", () => {
    expect(wranglerCommands.upload("staging", { message: "abc", tag: "0123456789abcdef0123456789" })).toEqual(
      [
        "wrangler",
        "versions",
        "upload",
        "--env",
        "staging",
        "--message",
        "abc",
        "--tag",
        "0123456789abcdef012345678",
      ],
    );
    expect(wranglerCommands.split("production", NEW, OLD, 10, "canary x")).toEqual([
      "wrangler",
      "versions",
      "deploy",
      `${NEW}@10%`,
      `${OLD}@90%`,
      "--env",
      "production",
      "--message",
      "canary x",
      "--yes",
    ]);
    expect(wranglerCommands.only("staging", OLD, "rollback")).toEqual([
      "wrangler",
      "versions",
      "deploy",
      `${OLD}@100%`,
      "--env",
      "staging",
      "--message",
      "rollback",
      "--yes",
    ]);
    expect(wranglerCommands.status("staging")).toEqual([
      "wrangler",
      "deployments",
      "status",
      "--env",
      "staging",
      "--json",
    ]);
  });

  it("refuses a canary share of 0, 100 or a fraction, and a split of a version with itself", () => {
    for (const p of [0, 100, 12.5, -5])
      expect(() => wranglerCommands.split("staging", NEW, OLD, p, "m")).toThrow(RangeError);
    expect(() => wranglerCommands.split("staging", NEW, NEW, 10, "m")).toThrow(/same/);
  });

  it("pins a request to a version with a structured-header dictionary", () => {
    expect(versionOverride("horizon-api-staging", NEW)).toEqual({
      "Cloudflare-Workers-Version-Overrides": `horizon-api-staging="${NEW}"`,
    });
    expect(() => versionOverride("bad name", NEW)).toThrow();
    expect(() => versionOverride("w", 'x", other="y')).toThrow();
  });

  it("reads the uploaded version from the output file, else from the human output", () => {
    const file = `{"type":"wrangler-session","version":1}\n{"type":"version-upload","version_id":"${NEW}","worker_name":"w"}\n`;
    expect(parseUploadedVersion(file, "")).toBe(NEW);
    expect(parseUploadedVersion(undefined, `Uploaded horizon (2.1 sec)\nWorker Version ID: ${NEW}\n`)).toBe(
      NEW,
    );
    expect(() => parseUploadedVersion("", "something else")).toThrow(/could not find/);
  });

  it("rolls back to the version serving 100%, refuses a split deployment, and knows a first deploy", () => {
    const status = parseDeploymentStatus(
      JSON.stringify({ versions: [{ version_id: OLD, percentage: 100 }] }),
    );
    expect(previousVersion(status)).toBe(OLD);
    expect(previousVersion([])).toBeNull();
    expect(() =>
      previousVersion([
        { versionId: OLD, percentage: 90 },
        { versionId: NEW, percentage: 10 },
      ]),
    ).toThrow(/split/);
  });
});

describe("a whole rollout against the real app", () => {
  let t: TestApp;
  let healthy = true;
  const email = `smoke-${Date.now()}@example.com`;
  const password = "smoke-password-Correct-Horse-7";

  beforeAll(async () => {
    t = await createTestApp({ db: "pglite" });
    const res = await t.request("/api/v1/auth/register", json({ email, password, name: "Smoke Probe" }));
    expect(res.status, await res.clone().text()).toBe(201);
  });
  afterAll(() => t?.close());

  /** The edge as the probes see it: the real app, or a 503 readiness when the version is broken. */
  let logins = 0;
  let ipSuffix = 1;
  const fetchApp = async (url: string, init: RequestInit) => {
    const path = new URL(url).pathname;
    if (path === "/api/v1/auth/login") logins++;
    expect(new Headers(init.headers).get("Cloudflare-Workers-Version-Overrides")).toBe(
      `horizon-api-staging="${NEW}"`,
    );
    if (!healthy && path === "/health/ready") return new Response("{}", { status: 503 });
    // One client address per rollout, as each CI run has: the auth rate limit is per IP and the
    // fake clock never lets its window pass.
    return t.request(path, init, `203.0.113.${ipSuffix}`);
  };

  const deployed = true;
  function fakeWrangler(calls: Argv[]): WranglerRunner {
    return async (argv) => {
      calls.push(argv);
      if (argv[1] === "deployments" && !deployed)
        throw new Error(
          "wrangler deployments status exited 1\n✘ [ERROR] The Worker horizon-api-staging has no deployments.",
        );
      if (argv[1] === "deployments")
        return {
          stdout: JSON.stringify({
            id: "dep-1",
            source: "api",
            strategy: "percentage",
            versions: [{ version_id: OLD, percentage: 100 }],
          }),
        };
      if (argv[2] === "upload") return { stdout: `Worker Version ID: ${NEW}\n` };
      return { stdout: "" };
    };
  }

  async function rollout(calls: Argv[], lines: string[], percentages = [10]) {
    let clock = 0;
    ipSuffix++;
    return runRollout({
      env: "staging",
      percentages,
      intervalMs: 10_000,
      policy: { ...DEFAULT_POLICY, windowMs: 40_000, burstWindowMs: 20_000 },
      message: "test",
      target: { baseUrl: "https://staging.example.com", email, password, loadPerRound: 4, signInEvery: 2 },
      wrangler: fakeWrangler(calls),
      probe: (target, at, session) => probeRound(target, at, fetchApp, session),
      now: () => clock,
      sleep: async (ms) => {
        clock += ms;
      },
      log: (l) => lines.push(l),
    });
  }

  it("a probe round against the real app passes every check", async () => {
    healthy = true;
    const obs = await probeRound(
      {
        baseUrl: "https://x.example",
        workerName: "horizon-api-staging",
        versionId: NEW,
        email,
        password,
        loadPerRound: 4,
      },
      0,
      fetchApp,
    );
    expect(obs).toEqual([
      { kind: "probe", atMs: 0, check: "ready", status: 200 },
      { kind: "probe", atMs: 0, check: "sign-in", status: 200 },
      { kind: "probe", atMs: 0, check: "read", status: 200 },
      { kind: "traffic", atMs: 0, requests: 7, errors5xx: 0 },
    ]);
  });

  it("promotes a healthy version: upload, 10% canary, probes for the window, then 100%", async () => {
    healthy = true;
    const calls: Argv[] = [];
    const lines: string[] = [];
    logins = 0;
    const r = await rollout(calls, lines);
    expect(r.decision.action).toBe("promote");
    expect(logins).toBe(3);
    expect(calls.map((c) => c.slice(1, 4).join(" "))).toEqual([
      "deployments status --env",
      "versions upload --env",
      `versions deploy ${NEW}@10%`,
      `versions deploy ${NEW}@100%`,
    ]);
    expect(calls[2]).toContain(`${OLD}@90%`);
    expect(lines.at(-1)).toMatch(/^PROMOTED .* to 100%: healthy for 40000 ms/);
    // Five rounds, a sign-in every second one (the per-IP login limit is never approached).
    expect(r.observations.filter((o) => o.kind === "probe" && o.check === "read")).toHaveLength(5);
    expect(r.observations.filter((o) => o.kind === "probe" && o.check === "sign-in")).toHaveLength(3);
  });

  it("walks the canary steps in order, each watched for its own window, then promotes", async () => {
    healthy = true;
    const calls: Argv[] = [];
    const lines: string[] = [];
    const r = await rollout(calls, lines, [10, 50]);
    expect(r.decision, lines.join("\n")).toMatchObject({ action: "promote" });
    expect(calls.filter((c) => c[2] === "deploy").map((c) => c.slice(3, 5).join(" "))).toEqual([
      `${NEW}@10% ${OLD}@90%`,
      `${NEW}@50% ${OLD}@50%`,
      `${NEW}@100% --env`,
    ]);
    expect(lines.some((l) => /^step 1 healthy at 10%/.test(l))).toBe(true);
  });

  it("rolls back to the previous version when readiness fails, and says why", async () => {
    healthy = false;
    const calls: Argv[] = [];
    const lines: string[] = [];
    const r = await rollout(calls, lines);
    expect(r.decision.action).toBe("rollback");
    expect(calls.at(-1)!.slice(0, 4)).toEqual(["wrangler", "versions", "deploy", `${OLD}@100%`]);
    expect(calls.some((c) => c.includes(`${NEW}@100%`))).toBe(false);
    expect(lines.at(-1)).toMatch(
      /^ROLLED BACK to .* ready probe failed 2 time\(s\) in a row \(last: HTTP 503/,
    );
  });
});
