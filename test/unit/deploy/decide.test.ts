/**
 * The rollout decision over recorded probe sequences (issue 20 §3): promote a healthy canary,
 * roll back on a failed readiness probe, on a 5xx burst, and the edge cases around them.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_POLICY, decide, type Observation, type RolloutPolicy } from "../../../scripts/deploy/decide";

const POLICY: RolloutPolicy = {
  ...DEFAULT_POLICY,
  windowMs: 60_000,
  minReadyPasses: 3,
  minSyntheticPasses: 3,
  maxConsecutiveFailures: 2,
  burstWindowMs: 20_000,
  max5xxRate: 0.05,
  minRequestsForRate: 40,
  max5xxInBurst: 10,
};
const V = "11111111-2222-4333-8444-555555555555";

/** One probe round as probes.ts records it. */
function round(
  atMs: number,
  o: {
    ready?: number | null;
    signIn?: number | null;
    read?: number | null;
    requests?: number;
    errors?: number;
  } = {},
): Observation[] {
  return [
    { kind: "probe", atMs, check: "ready", status: o.ready === undefined ? 200 : o.ready },
    { kind: "probe", atMs, check: "sign-in", status: o.signIn === undefined ? 200 : o.signIn },
    { kind: "probe", atMs, check: "read", status: o.read === undefined ? 200 : o.read },
    { kind: "traffic", atMs, requests: o.requests ?? 13, errors5xx: o.errors ?? 0 },
  ];
}
const healthy = (from: number, to: number, step = 10_000) =>
  Array.from({ length: Math.floor((to - from) / step) + 1 }, (_, i) => round(from + i * step)).flat();

describe("rollout decision over recorded probe sequences", () => {
  it("promotes a version healthy for the whole window", () => {
    const obs = healthy(0, 60_000);
    const d = decide(obs, 60_000, POLICY, V);
    expect(d.action).toBe("promote");
    expect(d.reason).toMatch(/7 readiness passes, 7 sign-in \+ read rounds, 0 5xx in 91 requests/);
  });

  it("keeps watching a healthy version before the window ends", () => {
    expect(decide(healthy(0, 30_000), 30_000, POLICY, V).action).toBe("continue");
  });

  it("rolls back on a failed readiness probe (two in a row)", () => {
    const obs = [...healthy(0, 20_000), ...round(30_000, { ready: 503 }), ...round(40_000, { ready: 503 })];
    const d = decide(obs, 40_000, POLICY, V);
    expect(d).toMatchObject({ action: "rollback" });
    expect(d.reason).toMatch(/ready probe failed 2 time\(s\) in a row \(last: HTTP 503 at 40000 ms\)/);
  });

  it("rolls back at once when readiness does not answer at all, before the window ends", () => {
    const obs = [...round(0, { ready: null }), ...round(10_000, { ready: null })];
    expect(decide(obs, 10_000, POLICY, V)).toMatchObject({ action: "rollback", reason: /no answer/ });
  });

  it("rolls back on a 5xx burst in the pinned traffic", () => {
    const obs = [...healthy(0, 20_000), ...round(25_000, { requests: 13, errors: 12 })];
    const d = decide(obs, 25_000, POLICY, V);
    expect(d.action).toBe("rollback");
    expect(d.reason).toMatch(/12 5xx responses within 20000 ms/);
  });

  it("rolls back on a 5xx rate above the limit once the volume is enough to judge", () => {
    // 3 errors in 4 rounds of 13 requests (52): 5.8% > 5%, below the absolute burst limit.
    const obs = [0, 5000, 10_000, 15_000].flatMap((t, i) => round(t, { errors: i === 3 ? 3 : 0 }));
    expect(decide(obs, 15_000, POLICY, V)).toMatchObject({ action: "rollback", reason: /5xx rate 5\.8%/ });
  });

  it("does not judge a rate on too few requests (one 5xx in the first round is noise)", () => {
    const obs = round(0, { errors: 1 });
    expect(decide(obs, 0, POLICY, V).action).toBe("continue");
  });

  it("a burst that scrolled out of the latest window still rolls back", () => {
    const obs = [...round(0, { errors: 11 }), ...healthy(30_000, 60_000)];
    expect(decide(obs, 60_000, POLICY, V)).toMatchObject({ action: "rollback", reason: /ending at 0 ms/ });
  });

  it("one readiness blip followed by passes is not a rollback", () => {
    const obs = [...round(0), ...round(10_000, { ready: 503 }), ...healthy(20_000, 60_000)];
    expect(decide(obs, 60_000, POLICY, V).action).toBe("promote");
  });

  it("rolls back when the window ends on a failed readiness probe", () => {
    const obs = [...healthy(0, 50_000), ...round(60_000, { ready: 500 })];
    expect(decide(obs, 60_000, POLICY, V)).toMatchObject({
      action: "rollback",
      reason: /window ended on a failed readiness probe/,
    });
  });

  it("rolls back when sign-in keeps failing (a 401 counts: the new version broke auth)", () => {
    const obs = [...round(0, { signIn: 401, read: null }), ...round(10_000, { signIn: 401, read: null })];
    expect(decide(obs, 10_000, POLICY, V)).toMatchObject({
      action: "rollback",
      reason: /sign-in probe failed/,
    });
  });

  it("never promotes without evidence: no observations at the end of the window roll back", () => {
    expect(decide([], 60_000, POLICY, V)).toMatchObject({
      action: "rollback",
      reason: /not enough evidence/,
    });
  });

  it("rolls back when too few synthetic rounds passed, even with every readiness probe green", () => {
    const obs = [
      ...round(0),
      ...round(20_000, { read: 404 }),
      ...round(40_000, { read: 200 }),
      ...round(50_000, { read: 404 }),
      ...round(60_000),
    ];
    expect(decide(obs, 60_000, { ...POLICY, minSyntheticPasses: 4 }, V)).toMatchObject({
      action: "rollback",
      reason: /5\/3 readiness passes, 3\/4 sign-in \+ read rounds/,
    });
  });

  it("rolls back when a probe was answered by another version (the override is not honoured)", () => {
    const obs: Observation[] = [
      ...healthy(0, 60_000),
      { kind: "probe", atMs: 30_000, check: "ready", status: 200, servedBy: "old-version" },
    ];
    expect(decide(obs, 60_000, POLICY, V)).toMatchObject({
      action: "rollback",
      reason: /answered by version old-version/,
    });
  });

  it("judges observations in time order, whatever order they were recorded in, and ignores the future", () => {
    const obs = [
      ...round(10_000, { ready: 503 }),
      ...round(0, { ready: 503 }),
      ...round(70_000, { ready: 503 }),
    ];
    expect(decide(obs.slice(4), 5_000, POLICY, V).action).toBe("continue");
    expect(decide(obs, 10_000, POLICY, V).action).toBe("rollback");
  });

  it("rollout safety (fast-check): a promotion implies no check failed twice in a row and a green last readiness probe", () => {
    const status = fc.constantFrom<number | null>(200, 200, 200, 204, 401, 500, 503, null);
    fc.assert(
      fc.property(
        fc.array(fc.record({ ready: status, signIn: status, read: status, errors: fc.nat({ max: 13 }) }), {
          minLength: 0,
          maxLength: 12,
        }),
        (rounds) => {
          const obs = rounds.flatMap((r, i) => round(i * 6_000, r));
          const d = decide(obs, 66_000, POLICY, V);
          if (d.action !== "promote") return;
          for (const check of ["ready", "signIn", "read"] as const) {
            for (let i = 1; i < rounds.length; i++) {
              const bad = (s: number | null) => s === null || s < 200 || s >= 300;
              expect(bad(rounds[i - 1]![check]) && bad(rounds[i]![check])).toBe(false);
            }
          }
          const last = rounds.at(-1)!;
          expect(last.ready !== null && last.ready >= 200 && last.ready < 300).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});
