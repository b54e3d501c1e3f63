import type { ReadinessCheck, Services } from "../../services";
import { type Backlog, outboxBacklog } from "../outbox/admin";

export interface CheckResult {
  status: "ok" | "fail" | "degraded";
  durationMs: number;
  error?: string;
  /** outbox: pending events due now (bounded count) and the oldest one's wait. */
  due?: number;
  oldestDueAgeSeconds?: number;
}

const TIMEOUT_MS = 2000;

async function run(check: ReadinessCheck): Promise<CheckResult> {
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      check.check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
      }),
    ]);
    return { status: "ok", durationMs: Math.round(performance.now() - started) };
  } catch (err) {
    // Only the error class goes out: connection strings and hosts stay in the log.
    return {
      status: "fail",
      durationMs: Math.round(performance.now() - started),
      error: err instanceof Error && /timed out/.test(err.message) ? "timeout" : "unreachable",
    };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs every dependency check concurrently, each bounded by a timeout. The database check is the
 * outbox backlog query (one round trip proves the database answers and measures the backlog);
 * a backlog past its thresholds makes the answer degraded, not failed: the instance still serves.
 */
export async function checkReadiness(services: Services) {
  let backlog: Backlog | undefined;
  const all: ReadinessCheck[] = [
    {
      name: "database",
      check: async () => {
        backlog = await outboxBacklog(services);
      },
    },
    { name: "kv", check: () => services.kv.ping() },
    ...services.readiness,
  ];
  const results = await Promise.all(all.map(async (c) => [c.name, await run(c)] as const));
  const checks: Record<string, CheckResult> = Object.fromEntries(results);
  if (backlog) {
    checks.outbox = {
      status: backlog.degraded ? "degraded" : "ok",
      durationMs: checks.database!.durationMs,
      due: backlog.due,
      oldestDueAgeSeconds: backlog.oldestDueAgeSeconds,
    };
  }
  return { ok: results.every(([, r]) => r.status === "ok"), degraded: !!backlog?.degraded, checks };
}
