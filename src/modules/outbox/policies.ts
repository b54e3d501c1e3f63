/**
 * Retry policies per topic, as data: both transports read them (the in-process dispatcher
 * reschedules with them; QStash receives them as Upstash-Retries / Upstash-Retry-Delay), so a
 * handler never carries its own backoff. A topic is `<family>.<name>`; the policy is the topic's
 * own entry, else its family's, else DEFAULT_POLICY.
 */
import type { RetryPolicy } from "../../platform/queue";

/** The seed's schedules (notifications, webhooks, file processing) plus ours. */
export const FAMILY_POLICIES: Readonly<Record<string, RetryPolicy>> = {
  notifications: { retries: 3, delaysMs: [1_000, 2_000, 4_000] },
  webhooks: { retries: 5, delaysMs: [1_000, 2_000, 4_000, 8_000, 16_000] },
  files: { retries: 2, delaysMs: [5_000, 10_000] },
  // A poke is cheap and stale quickly: retry soon and often; after ~9 s clients' own pull catches up.
  realtime: { retries: 5, delaysMs: [250, 500, 1_000, 2_000, 5_000] },
  // Fan-out of a sync batch's domain events to subscriber rows: cheap, and what waits behind it
  // (pushes, webhooks) is time critical, so retry soon.
  events: { retries: 5, delaysMs: [250, 1_000, 5_000, 30_000, 120_000] },
  // Conflict notices are not time critical but must not be lost to a short outage.
  sync: { retries: 5, delaysMs: [1_000, 5_000, 30_000, 120_000, 600_000] },
};

/** Exact topics that differ from their family. */
export const TOPIC_POLICIES: Readonly<Record<string, RetryPolicy>> = {};

export const DEFAULT_POLICY: RetryPolicy = { retries: 3, delaysMs: [1_000, 5_000, 30_000] };

export function policyFor(topic: string): RetryPolicy {
  // hasOwn: a topic named "constructor" must not find Object.prototype's.
  if (Object.hasOwn(TOPIC_POLICIES, topic)) return TOPIC_POLICIES[topic]!;
  const dot = topic.indexOf(".");
  const family = dot === -1 ? topic : topic.slice(0, dot);
  return Object.hasOwn(FAMILY_POLICIES, family) ? FAMILY_POLICIES[family]! : DEFAULT_POLICY;
}
