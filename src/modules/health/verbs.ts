import type { ReadinessCheck, Services } from "../../services";

export interface CheckResult {
  status: "ok" | "fail";
  durationMs: number;
  error?: string;
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

/** Runs every dependency check concurrently, each bounded by a timeout. */
export async function checkReadiness(services: Services) {
  const all: ReadinessCheck[] = [
    { name: "database", check: () => services.database.ping() },
    { name: "kv", check: () => services.kv.ping() },
    ...services.readiness,
  ];
  const results = await Promise.all(all.map(async (c) => [c.name, await run(c)] as const));
  const checks = Object.fromEntries(results);
  return { ok: results.every(([, r]) => r.status === "ok"), checks };
}
