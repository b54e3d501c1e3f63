/**
 * The probes of a rollout: requests pinned to the new Worker version with
 * Cloudflare-Workers-Version-Overrides. One round = readiness, a synthetic sign-in and an
 * authenticated read, plus a small pinned load whose 5xx count is the traffic observation.
 * `fetch` is a parameter so the same code runs against the real app in tests.
 */
import type { Observation } from "./decide";
import { versionOverride } from "./wrangler";

export interface ProbeTarget {
  baseUrl: string;
  workerName: string;
  versionId: string;
  /** The synthetic account (a dedicated user with no building data worth protecting). */
  email: string;
  password: string;
  /** Pinned GETs per round counted as traffic (default 10). */
  loadPerRound?: number;
  timeoutMs?: number;
  /**
   * Sign in on every n-th round and reuse the token in between (default 4): sign-in is limited
   * per client IP (LOGIN_MAX_PER_IP in LOGIN_WINDOW_SECONDS), and a probe that trips the limit
   * would roll back a healthy version.
   */
  signInEvery?: number;
}

/** What carries over between the rounds of one rollout. */
export interface ProbeSession {
  rounds: number;
  token?: string;
}

type Fetch = (url: string, init: RequestInit) => Promise<Response>;

/** The version that answered, when the Worker reports it (header set from CF version metadata). */
export const SERVED_BY_HEADER = "x-horizon-version";

export async function probeRound(
  target: ProbeTarget,
  atMs: number,
  fetchImpl: Fetch = fetch,
  session: ProbeSession = { rounds: 0 },
): Promise<Observation[]> {
  const pin = versionOverride(target.workerName, target.versionId);
  const timeout = target.timeoutMs ?? 10_000;
  const url = (path: string) => new URL(path, target.baseUrl).toString();

  let calls = 0;
  let errors5xx = 0;
  async function call(
    path: string,
    init: RequestInit = {},
  ): Promise<{ status: number | null; res?: Response }> {
    calls++;
    try {
      const res = await fetchImpl(url(path), {
        ...init,
        headers: { ...pin, ...(init.headers as Record<string, string> | undefined) },
        signal: AbortSignal.timeout(timeout),
      });
      if (res.status >= 500) errors5xx++;
      return { status: res.status, res };
    } catch {
      errors5xx++;
      return { status: null };
    }
  }
  const servedBy = (res?: Response) => res?.headers.get(SERVED_BY_HEADER) ?? undefined;
  const out: Observation[] = [];
  const probe = (check: "ready" | "sign-in" | "read", r: { status: number | null; res?: Response }) => {
    const s = servedBy(r.res);
    out.push({ kind: "probe", atMs, check, status: r.status, ...(s ? { servedBy: s } : {}) });
  };

  const ready = await call("/health/ready");
  await ready.res?.body?.cancel();
  probe("ready", ready);

  const round = session.rounds++;
  if (!session.token || round % (target.signInEvery ?? 4) === 0) {
    const signIn = await call("/api/v1/auth/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: target.email, password: target.password }),
    });
    probe("sign-in", signIn);
    session.token = undefined;
    if (signIn.res?.ok) session.token = ((await signIn.res.json()) as { accessToken?: string }).accessToken;
    else await signIn.res?.body?.cancel();
  }

  const token = session.token;
  if (token) {
    const read = await call("/api/v1/me", { headers: { authorization: `Bearer ${token}` } });
    await read.res?.body?.cancel();
    probe("read", read);
    if (read.status === 401) session.token = undefined; // expired: the next round signs in again
  } else {
    // No token: the read cannot run, which is itself a failed round.
    out.push({ kind: "probe", atMs, check: "read", status: null });
  }

  const load = target.loadPerRound ?? 10;
  const results = await Promise.all(
    Array.from({ length: load }, (_, i) => call(i % 2 === 0 ? "/health" : "/openapi.json")),
  );
  for (const r of results) await r.res?.body?.cancel();
  out.push({ kind: "traffic", atMs, requests: calls, errors5xx });
  return out;
}
