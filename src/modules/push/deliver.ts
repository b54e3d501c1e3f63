/**
 * Sends notifications to every device of their users and keeps the delivery log: one
 * push_deliveries row per notification × device, queued → sent (the provider's message id) |
 * failed (the provider's error). It runs as the handler of an outbox event, so it is at-least-once
 * and must be idempotent: a retry (1/2/4 s for the `notifications` family) skips the devices
 * already `sent` for their notification (and those whose message the provider rejected: no retry
 * can pass it), and throws while any device failed transiently, which is what makes the backbone
 * retry. A dead token (Web Push 404/410, FCM UNREGISTERED, APNs 410 or BadDeviceToken) deletes its
 * device at once. Each provider sits behind a circuit breaker; while one is open its devices are
 * not tried (their attempt is not used up) and the event is retried.
 *
 * One event carries a chunk of recipients (push-contract.ts), so a run costs a fixed number of
 * statements whatever the chunk's size: one look-up of every device of the chunk with its log row
 * (the missing log rows inserted as `queued` by the same statement), the provider sends with
 * bounded concurrency, one update of the log for every outcome, one delete of the dead tokens.
 * Uses only the push port: the Node-only adapters come with services.push.
 */
import { sql } from "drizzle-orm";
import { DependencyUnavailableError } from "../../platform/breaker";
import { queryRows } from "../../platform/db";
import {
  type PushDevice,
  type PushMessage,
  PushPermanentError,
  PushRejectedError,
  type PushService,
  PushTransientError,
} from "../../platform/push";
import type { VerbContext } from "../../verbs";
import type { PushPayload } from "../notifications/push-contract";
import type { PushProviderName } from "./schema";

const MAX_ERROR = 500;
/** Provider calls in flight per run: the providers take concurrent sends (HTTP/2, keep-alive). */
export const SEND_CONCURRENCY = 32;

/** How one device fared in this run. */
export type DeviceOutcome =
  | { deviceId: string; status: "sent"; messageId: string }
  | { deviceId: string; status: "skipped" }
  | {
      deviceId: string;
      status: "failed";
      kind: "permanent" | "rejected" | "transient" | "open";
      error: string;
    };

export interface DeliveryReport {
  notificationId: string;
  outcomes: DeviceOutcome[];
}

/** The event is retried: some device failed in a way a later attempt may fix. */
export class PushRetryError extends Error {
  override name = "PushRetryError";
}

export interface Deliverable {
  notificationId: string;
  userId: string;
  message: PushMessage;
}

export function messageOf(payload: PushPayload): PushMessage {
  return {
    title: payload.title,
    body: payload.body,
    // The app routes on these; the sender's own keys win over the event's data.
    data: {
      ...payload.data,
      notificationId: payload.notificationId,
      type: payload.type,
      ...(payload.buildingId ? { buildingId: payload.buildingId } : {}),
    },
    urgent: payload.urgent,
    collapseKey: payload.collapseKey,
    ttlSeconds: payload.ttlSeconds,
  };
}

function pushOf(ctx: VerbContext): PushService {
  const push = ctx.services.push;
  // A host that runs this handler without providers is misconfigured; retrying may find it fixed.
  if (!push) throw new PushRetryError("no push service on this host (services.push unset)");
  return push;
}

/**
 * Delivers `item` to every current device of its user. Throws PushRetryError when the event must
 * run again (a transient failure or an open breaker on some device); returns the report otherwise.
 */
export async function deliverToUser(ctx: VerbContext, item: Deliverable): Promise<DeliveryReport> {
  const [report] = await deliverChunk(ctx, [item]);
  return report ?? { notificationId: item.notificationId, outcomes: [] };
}

/** A device of a recipient, with what the log already says of this notification on it. */
interface Target {
  item: Deliverable;
  device: PushDevice & { userId: string };
  /** The log row's status before this run (null: no row yet, inserted `queued` by the look-up). */
  logged: "queued" | "sent" | "failed" | null;
  /** The log row's error before this run. */
  loggedError: string | null;
}

interface TargetRow {
  n: string;
  id: string;
  user_id: string;
  provider: PushProviderName;
  platform: "ios" | "android" | "web";
  token: string;
  p256dh: string | null;
  auth: string | null;
  status: "queued" | "sent" | "failed" | null;
  error: string | null;
}

/** A rejected message cannot pass on a retry either: that device is done for this notification. */
const REJECTED_PREFIX = "PushRejectedError:";

/**
 * Every device of the chunk's users with its log row for the item's notification, and the
 * missing log rows inserted `queued` by the same statement (so the log says "on its way" before
 * any provider is called). One statement whatever the chunk's size.
 */
async function lookUp(ctx: VerbContext, items: readonly Deliverable[]): Promise<Target[]> {
  const byNotification = new Map(items.map((i) => [i.notificationId, i]));
  const pairs = JSON.stringify(items.map((i) => ({ n: i.notificationId, u: i.userId })));
  const rows = await queryRows<TargetRow>(
    ctx.db,
    sql`with r as (
          select distinct n, u from jsonb_to_recordset(${pairs}::jsonb) as x(n uuid, u uuid)
        ), t as (
          select r.n, d.id, d.user_id, d.provider, d.platform, d.token, d.p256dh, d.auth, l.status, l.error
          from r
          join push_devices d on d.user_id = r.u
          left join push_deliveries l on l.notification_id = r.n and l.device_id = d.id
        ), queued as (
          insert into push_deliveries (notification_id, device_id, user_id, provider)
          select n, id, user_id, provider from t where status is null
          on conflict (notification_id, device_id) do nothing
        )
        select n, id, user_id, provider, platform, token, p256dh, auth, status, error from t`,
  );
  const targets: Target[] = [];
  for (const r of rows) {
    const item = byNotification.get(r.n);
    if (!item) continue;
    targets.push({
      item,
      device: {
        id: r.id,
        userId: r.user_id,
        provider: r.provider,
        platform: r.platform,
        token: r.token,
        p256dh: r.p256dh,
        auth: r.auth,
      },
      logged: r.status,
      loggedError: r.error,
    });
  }
  return targets;
}

/** What a send came to, before it is written. */
type Result =
  | { target: Target; status: "sent"; messageId: string }
  | {
      target: Target;
      status: "failed";
      kind: "permanent" | "rejected" | "transient" | "open";
      error: string;
    };

async function sendOne(ctx: VerbContext, push: PushService, target: Target): Promise<Result> {
  const { device, item } = target;
  const breaker = push.breakerFor(device.provider);
  const ticket = breaker.admit();
  if (!ticket) {
    // Not tried: the attempt count stays, the event is retried once the breaker lets calls through.
    const error = new DependencyUnavailableError(breaker.name, "open", breaker.retryAfterMs()).message;
    return { target, status: "failed", kind: "open", error };
  }
  try {
    const { messageId } = await push.providerFor(device.provider).send(device, item.message);
    breaker.success(ticket);
    return { target, status: "sent", messageId };
  } catch (err) {
    const kind =
      err instanceof PushPermanentError
        ? "permanent"
        : err instanceof PushRejectedError
          ? "rejected"
          : "transient";
    // The provider answered (the token or the message was at fault): the provider itself is fine.
    if (kind === "transient") breaker.failure(ticket);
    else breaker.success(ticket);
    const error = (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).slice(0, MAX_ERROR);
    if (!(err instanceof PushTransientError) && kind === "transient") {
      ctx.services.logger.warn(
        { event: "push_send_error", deviceId: device.id, provider: device.provider, err: error },
        "unexpected push send error (retried)",
      );
    }
    return { target, status: "failed", kind, error };
  }
}

/** Runs `fn` over `xs` with at most `limit` calls in flight; results in `xs` order. */
async function mapBounded<T, R>(xs: readonly T[], limit: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(xs.length);
  let next = 0;
  const worker = async () => {
    while (next < xs.length) {
      const i = next++;
      out[i] = await fn(xs[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, xs.length) }, worker));
  return out;
}

/**
 * The log rows of this run in one statement: sent (message id, attempt counted), failed after a
 * provider call (error, attempt counted), or held by an open breaker (error, attempt not counted).
 * A row already `sent` (a concurrent run of a redelivered event got there first) is never turned
 * back into a failure.
 */
async function writeLog(ctx: VerbContext, results: readonly Result[]): Promise<void> {
  if (!results.length) return;
  const sentAt = ctx.services.clock.now().toISOString();
  const json = JSON.stringify(
    results.map((r) =>
      r.status === "sent"
        ? {
            n: r.target.item.notificationId,
            d: r.target.device.id,
            s: "sent",
            m: r.messageId.slice(0, MAX_ERROR),
            e: null,
            c: 1,
          }
        : {
            n: r.target.item.notificationId,
            d: r.target.device.id,
            s: "failed",
            m: null,
            e: r.error,
            c: r.kind === "open" ? 0 : 1,
          },
    ),
  );
  await ctx.db.execute(
    sql`update push_deliveries p set
          status = v.s,
          provider_message_id = case when v.s = 'sent' then v.m else p.provider_message_id end,
          error = v.e,
          attempts = p.attempts + v.c,
          sent_at = case when v.s = 'sent' then ${sentAt}::timestamptz else p.sent_at end,
          updated_at = now()
        from jsonb_to_recordset(${json}::jsonb) as v(n uuid, d uuid, s text, m text, e text, c int)
        where p.notification_id = v.n and p.device_id = v.d and (p.status <> 'sent' or v.s = 'sent')`,
  );
}

/** Token hygiene: only these tokens, and only if still the ones that failed (not re-registered since). */
async function removeDead(ctx: VerbContext, dead: readonly Result[]): Promise<void> {
  if (!dead.length) return;
  const json = JSON.stringify(dead.map((r) => ({ id: r.target.device.id, token: r.target.device.token })));
  await ctx.db.execute(
    sql`delete from push_devices d using jsonb_to_recordset(${json}::jsonb) as v(id uuid, token text)
        where d.id = v.id and d.token = v.token`,
  );
  for (const r of dead) {
    ctx.services.logger.info(
      {
        event: "push_device_removed",
        deviceId: r.target.device.id,
        provider: r.target.device.provider,
        reason: r.status === "failed" ? r.error : "",
      },
      "push token is dead: device removed",
    );
  }
}

/**
 * Delivers every item of a chunk to every current device of its user: a fixed number of
 * statements for the whole chunk, sends with at most SEND_CONCURRENCY in flight. Throws
 * PushRetryError when the event must run again (some device failed transiently or its provider's
 * breaker is open): the rerun sends only to those devices, the others being `sent`, rejected or
 * gone. Returns one report per item (in `items` order) otherwise.
 */
export async function deliverChunk(
  ctx: VerbContext,
  items: readonly Deliverable[],
): Promise<DeliveryReport[]> {
  const push = pushOf(ctx);
  if (!items.length) return [];
  const targets = await lookUp(ctx, items);
  const skip = (t: Target) =>
    t.logged === "sent" || (t.logged === "failed" && (t.loggedError ?? "").startsWith(REJECTED_PREFIX));
  const todo = targets.filter((t) => !skip(t));
  const results = await mapBounded(todo, SEND_CONCURRENCY, (t) => sendOne(ctx, push, t));
  await writeLog(ctx, results);
  await removeDead(
    ctx,
    results.filter((r) => r.status === "failed" && r.kind === "permanent"),
  );

  const reports = new Map<string, DeliveryReport>(
    items.map((i) => [i.notificationId, { notificationId: i.notificationId, outcomes: [] }]),
  );
  for (const t of targets)
    if (skip(t))
      reports.get(t.item.notificationId)!.outcomes.push({ deviceId: t.device.id, status: "skipped" });
  for (const r of results) {
    reports
      .get(r.target.item.notificationId)!
      .outcomes.push(
        r.status === "sent"
          ? { deviceId: r.target.device.id, status: "sent", messageId: r.messageId }
          : { deviceId: r.target.device.id, status: "failed", kind: r.kind, error: r.error },
      );
  }

  const retry = results.filter((r) => r.status === "failed" && (r.kind === "transient" || r.kind === "open"));
  if (retry.length) {
    throw new PushRetryError(
      `${retry.length} of ${targets.length} device(s) to retry: ${retry
        .map((r) => (r.status === "failed" ? `${r.target.device.id} ${r.error}` : ""))
        .join("; ")}`.slice(0, 2000),
    );
  }
  return [...reports.values()];
}
