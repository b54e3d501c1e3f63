/**
 * Critical-error alerting (seed area 1): 5xx bursts, dead outbox events and open breakers raise an
 * alert, at most one per key per 5 minutes across every process (a kv SET NX with a TTL), to the
 * log (level error, `event: "alert"`), to the operator webhook (ALERT_WEBHOOK_URL, a JSON POST —
 * the operator's own URL from config, so it is not SSRF-checked) and to platform administrators
 * through the notifier a host or the notifications module installs (`setAlertNotifier`).
 */
import { and, count, gt, isNotNull } from "drizzle-orm";
import type { Services } from "../../services";
import { notify } from "../notifications/notify";
import { enqueueAfterCommit } from "../outbox/record";
import { outbox } from "../outbox/schema";

export const ALERT_THROTTLE_MS = 5 * 60 * 1000;

export interface Alert {
  /** Throttling key: one alert per key per 5 minutes. */
  key: string;
  title: string;
  detail: string;
}

export type AlertNotifier = (services: Services, alert: Alert) => Promise<void>;

/** Platform administrators hear it through the notifications module (the critical `alert` type). */
export const notifyPlatformAdmins: AlertNotifier = async (services, alert) => {
  const bucket = Math.floor(services.clock.now().getTime() / ALERT_THROTTLE_MS);
  await enqueueAfterCommit(services, () =>
    notify(services.database.db, {
      type: "alert",
      to: "platform-admins",
      key: `alert:${alert.key}:${bucket}`,
      values: { title: alert.title, detail: alert.detail },
    }),
  );
};

let notifier: AlertNotifier | undefined = notifyPlatformAdmins;

/** Replaces the platform administrators' channel (undefined: none). */
export function setAlertNotifier(fn: AlertNotifier | undefined): void {
  notifier = fn;
}

/** Raises an alert unless one with the same key went out in the last 5 minutes; answers whether it did. */
export async function raiseAlert(services: Services, alert: Alert): Promise<boolean> {
  let first: boolean;
  try {
    first = await services.kv.set(`alert:${alert.key}`, String(services.clock.now().getTime()), {
      ttlMs: ALERT_THROTTLE_MS,
      onlyIfAbsent: true,
    });
  } catch {
    first = true; // kv down: better a repeated alert than a lost one
  }
  if (!first) return false;
  services.logger.error(
    { event: "alert", key: alert.key, title: alert.title, detail: alert.detail },
    alert.title,
  );
  const sends: Promise<unknown>[] = [];
  const url = services.config.ALERT_WEBHOOK_URL;
  if (url) {
    sends.push(
      fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ ...alert, at: services.clock.now().toISOString(), service: "horizon" }),
        signal: AbortSignal.timeout(5_000),
      }).then((r) => r.body?.cancel()),
    );
  }
  if (notifier) sends.push(notifier(services, alert));
  const results = await Promise.allSettled(sends);
  for (const r of results) {
    if (r.status === "rejected") {
      services.logger.warn(
        { event: "alert_send_failed", key: alert.key, err: String(r.reason) },
        "alert not sent",
      );
    }
  }
  return true;
}

/** Counts one event toward a burst: alerts when `threshold` land within `windowMs`. */
export async function countTowardBurst(
  services: Services,
  key: string,
  options: { threshold: number; windowMs: number; title: string; detail: string },
): Promise<boolean> {
  const n = await services.kv.incr(`burst:${key}`, 1, options.windowMs);
  if (n < options.threshold) return false;
  return raiseAlert(services, { key, title: options.title, detail: options.detail });
}

/**
 * Alerts when outbox events went dead since `since` (a cron or housekeeping tick calls it with
 * its previous run). Answers the count.
 */
export async function alertOnDeadEvents(services: Services, since: Date): Promise<number> {
  const [row] = await services.database.db
    .select({ n: count() })
    .from(outbox)
    .where(and(isNotNull(outbox.deadAt), gt(outbox.deadAt, since)));
  const n = Number(row?.n ?? 0);
  if (n > 0) {
    await raiseAlert(services, {
      key: "outbox-dead",
      title: "Outbox events are dead",
      detail: `${n} outbox event(s) went dead since ${since.toISOString()}; see GET /api/v1/admin/outbox/dead`,
    });
  }
  return n;
}
