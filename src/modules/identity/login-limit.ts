/**
 * Login attempt limits: a fixed window over the kv port, per account and per client IP, checked
 * before any password work (an argon2 verify is the expensive part an attacker wants us to do).
 * The IP counter counts every attempt; the account counter counts attempts since the last
 * success, which clears it. Counters are incremented first (atomic INCR), so a burst of parallel
 * attempts cannot slip past the limit. The full token-bucket limiter of the API layer can replace
 * this later; its keys do not collide with ours.
 *
 * A kv outage fails open with a warning: refusing every login would turn a cache failure into a
 * platform outage, and the argon2 cost still bounds guessing.
 */
import type { Services } from "../../services";

export type LoginGate =
  | { allowed: true }
  | { allowed: false; retryAfterSeconds: number; scope: "account" | "ip" };

async function accountKey(email: string): Promise<string> {
  // A digest keeps addresses (personal data) and glob characters out of kv key names.
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(email)));
  return `login:acct:${Array.from(digest.slice(0, 16), (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

const ipKey = (ip: string) => `login:ip:${ip || "unknown"}`;

/** Counts one attempt for `email` from `ip` and says whether it may proceed. */
export async function takeLoginAttempt(services: Services, email: string, ip: string): Promise<LoginGate> {
  const { kv, config, logger } = services;
  const windowMs = config.LOGIN_WINDOW_SECONDS * 1000;
  try {
    const keys = { ip: ipKey(ip), account: await accountKey(email) };
    const [ipCount, accountCount] = await Promise.all([
      kv.incr(keys.ip, 1, windowMs),
      kv.incr(keys.account, 1, windowMs),
    ]);
    const over: Array<"ip" | "account"> = [];
    if (ipCount > config.LOGIN_MAX_PER_IP) over.push("ip");
    if (accountCount > config.LOGIN_MAX_PER_ACCOUNT) over.push("account");
    if (over.length === 0) return { allowed: true };
    const ttls = await Promise.all(over.map((s) => kv.ttl(keys[s])));
    const retryMs = Math.max(...ttls.map((t) => (t === null || t < 0 ? windowMs : t)));
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(retryMs / 1000)), scope: over[0]! };
  } catch (err) {
    logger.warn(
      { event: "login_limit_unavailable", err: { message: (err as Error).message } },
      "login limiter unavailable; allowing",
    );
    return { allowed: true };
  }
}

/** A successful sign-in clears the account's counter (the IP counter keeps running). */
export async function clearAccountAttempts(services: Services, email: string): Promise<void> {
  try {
    await services.kv.del(await accountKey(email));
  } catch (err) {
    services.logger.warn(
      { event: "login_limit_unavailable", err: { message: (err as Error).message } },
      "could not clear login counter",
    );
  }
}
