/**
 * The rollout decision: given what the probes and the traffic watch saw of a new Worker version
 * so far, keep watching, promote it to 100%, or roll back to the previous version, and say why.
 * Pure (no clock, no I/O): the loop in rollout.ts records observations and asks this function
 * after each one, and the tests replay recorded sequences through it.
 *
 * Conservative by construction: a window that ends without enough evidence rolls back, so a
 * probe that silently stopped running can never promote a version.
 */

/** One synthetic request pinned to the new version (Cloudflare-Workers-Version-Overrides). */
export interface ProbeObservation {
  kind: "probe";
  /** Milliseconds since the new version started taking traffic. */
  atMs: number;
  check: "ready" | "sign-in" | "read";
  /** HTTP status, or null when the request failed (network error, timeout). */
  status: number | null;
  /** The version that answered, when the Worker says (CF version metadata); unset = unknown. */
  servedBy?: string;
}

/** Real traffic of the new version over an interval (Workers analytics by script version). */
export interface TrafficObservation {
  kind: "traffic";
  atMs: number;
  requests: number;
  errors5xx: number;
}

export type Observation = ProbeObservation | TrafficObservation;

export interface RolloutPolicy {
  /** How long the new version is watched at its canary share before it can be promoted. */
  windowMs: number;
  /** Readiness probes that must have passed within the window to promote. */
  minReadyPasses: number;
  /** Successful sign-in + read rounds needed to promote. */
  minSyntheticPasses: number;
  /** Consecutive failures of one check that roll back (1 = the first failure). */
  maxConsecutiveFailures: number;
  /** Trailing window over which the 5xx rate is computed. */
  burstWindowMs: number;
  /** 5xx share of requests in the burst window above which the version is rolled back. */
  max5xxRate: number;
  /** Requests needed in the burst window before the rate is judged (too few = noise)... */
  minRequestsForRate: number;
  /** ...but this many 5xx inside the burst window roll back whatever the volume. */
  max5xxInBurst: number;
}

export const DEFAULT_POLICY: RolloutPolicy = {
  windowMs: 5 * 60_000,
  minReadyPasses: 3,
  minSyntheticPasses: 3,
  maxConsecutiveFailures: 2,
  burstWindowMs: 60_000,
  max5xxRate: 0.02,
  minRequestsForRate: 50,
  max5xxInBurst: 25,
};

export type Decision =
  | { action: "continue"; reason: string }
  | { action: "promote"; reason: string }
  | { action: "rollback"; reason: string };

const passed = (status: number | null) => status !== null && status >= 200 && status < 300;
const describe = (status: number | null) => (status === null ? "no answer" : `HTTP ${status}`);

/**
 * Decide at `nowMs` (ms since the canary started) from the observations so far. Observations may
 * arrive out of order (probes run concurrently); they are judged in time order.
 */
export function decide(
  observations: readonly Observation[],
  nowMs: number,
  policy: RolloutPolicy = DEFAULT_POLICY,
  expectedVersion?: string,
): Decision {
  const seen = [...observations].filter((o) => o.atMs <= nowMs).sort((a, b) => a.atMs - b.atMs);
  const probes = seen.filter((o): o is ProbeObservation => o.kind === "probe");

  // A probe answered by another version proves nothing about the new one: the override header
  // is not being honoured, and promoting would be blind.
  if (expectedVersion) {
    const stray = probes.find((p) => p.servedBy !== undefined && p.servedBy !== expectedVersion);
    if (stray)
      return {
        action: "rollback",
        reason: `${stray.check} probe at ${stray.atMs} ms was answered by version ${stray.servedBy}, not ${expectedVersion}: the version override is not reaching the new version`,
      };
  }

  // Consecutive failures per check.
  for (const check of ["ready", "sign-in", "read"] as const) {
    let run = 0;
    for (const p of probes) {
      if (p.check !== check) continue;
      run = passed(p.status) ? 0 : run + 1;
      if (run >= policy.maxConsecutiveFailures)
        return {
          action: "rollback",
          reason: `${check} probe failed ${run} time(s) in a row (last: ${describe(p.status)} at ${p.atMs} ms)`,
        };
    }
  }

  // 5xx bursts: every trailing window ending at a traffic sample is judged, so a burst that
  // has since scrolled out of the latest window still counts.
  const traffic = seen.filter((o): o is TrafficObservation => o.kind === "traffic");
  for (const end of traffic) {
    const inWindow = traffic.filter((t) => t.atMs > end.atMs - policy.burstWindowMs && t.atMs <= end.atMs);
    const requests = inWindow.reduce((n, t) => n + t.requests, 0);
    const errors = inWindow.reduce((n, t) => n + t.errors5xx, 0);
    if (errors >= policy.max5xxInBurst)
      return {
        action: "rollback",
        reason: `${errors} 5xx responses within ${policy.burstWindowMs} ms ending at ${end.atMs} ms (limit ${policy.max5xxInBurst})`,
      };
    if (requests >= policy.minRequestsForRate && requests > 0 && errors / requests > policy.max5xxRate)
      return {
        action: "rollback",
        reason: `5xx rate ${((100 * errors) / requests).toFixed(1)}% (${errors}/${requests}) within ${policy.burstWindowMs} ms ending at ${end.atMs} ms, above ${(100 * policy.max5xxRate).toFixed(1)}%`,
      };
  }

  if (nowMs < policy.windowMs) {
    return { action: "continue", reason: `watching: ${nowMs} of ${policy.windowMs} ms` };
  }

  const readyPasses = probes.filter((p) => p.check === "ready" && passed(p.status)).length;
  // A synthetic round passes when a sign-in passed and a later read passed before the next sign-in.
  let syntheticPasses = 0;
  let signedIn = false;
  for (const p of probes) {
    if (p.check === "sign-in") signedIn = passed(p.status);
    else if (p.check === "read" && signedIn && passed(p.status)) {
      syntheticPasses++;
      signedIn = false;
    }
  }
  const lastReady = probes.filter((p) => p.check === "ready").at(-1);
  if (lastReady && !passed(lastReady.status))
    return {
      action: "rollback",
      reason: `the window ended on a failed readiness probe (${describe(lastReady.status)} at ${lastReady.atMs} ms)`,
    };
  if (readyPasses < policy.minReadyPasses || syntheticPasses < policy.minSyntheticPasses)
    return {
      action: "rollback",
      reason: `not enough evidence after ${policy.windowMs} ms: ${readyPasses}/${policy.minReadyPasses} readiness passes, ${syntheticPasses}/${policy.minSyntheticPasses} sign-in + read rounds`,
    };
  const requests = traffic.reduce((n, t) => n + t.requests, 0);
  const errors = traffic.reduce((n, t) => n + t.errors5xx, 0);
  return {
    action: "promote",
    reason: `healthy for ${policy.windowMs} ms: ${readyPasses} readiness passes, ${syntheticPasses} sign-in + read rounds, ${errors} 5xx in ${requests} requests`,
  };
}
