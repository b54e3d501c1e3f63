/**
 * Delivering one notice (a domain event or a `notify` call turned into "this type, these users,
 * these values") to its recipients: per user, the type's channels after their preferences
 * (critical types ignore them), texts rendered once per locale and channel, an inbox row for
 * in-app, and a push for push — held back to the end of the user's quiet hours unless urgent, and
 * skipped for users live in the building's room when the room already carries the event. Pushes
 * are recorded as `notifications.push` chunk events (up to PUSH_CHUNK_MAX recipients sharing a
 * delivery time, texts once per locale). A notice for more than FIRST_PAGE users is decided in two
 * steps: the first FIRST_PAGE at once, the others by a `notifications.rest` event recorded with
 * them, so the first pushes leave before the last recipient is decided. Each step writes in one
 * statement (one transaction past 1,000 inbox rows), keyed by the notification id (derived from
 * event and user) and the chunk's recipients, so a retried run writes nothing twice.
 */
import { and, eq, inArray, sql } from "drizzle-orm";
import { PgTransaction } from "drizzle-orm/pg-core";
import { users } from "../../db/schema";
import { type DbOrTx, queryRows } from "../../platform/db";
import { inTransaction, type VerbContext } from "../../verbs";
import { DEFAULT_LOCALE, type Locale, toLocale } from "../i18n/locales";
import { currentCorrelationId, enqueueAfterCommit, noteRecorded } from "../outbox/record";
import { presenceOf } from "../realtime/presence";
import { type Channel, channelEnabled, type NotificationType, specOf } from "./catalogue";
import { cachedOverrides } from "./overrides";
import { PUSH_CHUNK_MAX, PUSH_TOPIC, type PushChunkPayload } from "./push-contract";
import { quietUntil } from "./quiet-hours";
import { type RenderedText, renderNotification } from "./render";
import { type inboxNotifications, notificationChannelPrefs, notificationQuietHours } from "./tables";

export interface Notice {
  /** The domain event (or notify key) this notice comes from: with the user, the notification id. */
  eventId: string;
  type: NotificationType;
  buildingId: string | null;
  recipients: readonly string[];
  /** Bypasses quiet hours and is sent with high priority. */
  urgent: boolean;
  /** The template values for a locale (amounts, dates and labels are formatted per locale). */
  values: (locale: Locale) => Record<string, string>;
  /** Ids for the app (deep links), carried in the inbox row and the push data. */
  data: Record<string, string>;
  collapseKey?: string;
  /** The building's room got this event's frame (default: the type's `roomFrame`). */
  inRoom?: boolean;
}

/** Outbox topic of the rest of a notice's recipients (./handlers.ts). */
export const REST_TOPIC = "notifications.rest";

/**
 * Recipients decided by the run that handles the event itself: the first pushes go out as soon as
 * this many recipients are committed, not after the last of a building's thousand.
 */
export const FIRST_PAGE = 50;

export interface DeliverOptions {
  /**
   * The event the notice comes from (its topic and payload): with more than FIRST_PAGE recipients,
   * only the first FIRST_PAGE (by user id) are delivered now, and a REST_TOPIC event naming the
   * others and this event is recorded in the same transaction.
   */
  restOf?: { source: string; event: unknown };
}

export interface DeliverySummary {
  recipients: number;
  /** Recipients left to the REST_TOPIC event. */
  deferred: number;
  inbox: number;
  /** Recipients with a push recorded (in `pushEvents` chunk events). */
  push: number;
  pushEvents: number;
  /** Pushes held to the end of quiet hours. */
  delayed: number;
  /** Recipients live in the room who got the room frame instead of a push. */
  live: number;
}

interface Recipient {
  id: string;
  locale: Locale;
  timezone: string;
  quiet: { startMinute: number; endMinute: number } | null;
}

/**
 * The notification id of (event, user): the two UUIDs XORed, stamped as version 8. For one event
 * it is a bijection over users (no two recipients share an id); across events a collision needs
 * e1 ⊕ u1 = e2 ⊕ u2 on 122 random bits. Synchronous and allocation-light: a fan-out derives
 * thousands (a SHA-256 each through crypto.subtle cost ~0.1 ms apiece on the thread pool).
 */
export function notificationIdFor(eventId: string, userId: string): string {
  const a = eventId.replaceAll("-", "");
  const b = userId.replaceAll("-", "");
  let hex = "";
  for (let i = 0; i < 32; i += 8) {
    const x = (Number.parseInt(a.slice(i, i + 8), 16) ^ Number.parseInt(b.slice(i, i + 8), 16)) >>> 0;
    hex += x.toString(16).padStart(8, "0");
  }
  const variant = ((Number.parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20)}`;
}

/** A UUID (version 8 layout) derived from any text (a `notify` key): SHA-256, truncated. */
export async function uuidFromText(text: string): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`horizon.notification:${text}`)),
  );
  const b = digest.slice(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x80;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

async function loadRecipients(db: DbOrTx, ids: readonly string[]): Promise<Recipient[]> {
  const rows = await db
    .select({
      id: users.id,
      locale: users.locale,
      timezone: users.timezone,
      start: notificationQuietHours.startMinute,
      end: notificationQuietHours.endMinute,
    })
    .from(users)
    .leftJoin(notificationQuietHours, eq(notificationQuietHours.userId, users.id))
    .where(inArray(users.id, [...ids]));
  return rows.map((r) => ({
    id: r.id,
    locale: toLocale(r.locale) ?? DEFAULT_LOCALE,
    timezone: r.timezone,
    quiet: r.start === null || r.end === null ? null : { startMinute: r.start, endMinute: r.end },
  }));
}

/** Stored channel choices for `type`: user id → channel → enabled. */
async function loadChoices(db: DbOrTx, type: NotificationType, ids: readonly string[]) {
  const rows = await db
    .select({
      userId: notificationChannelPrefs.userId,
      channel: notificationChannelPrefs.channel,
      enabled: notificationChannelPrefs.enabled,
    })
    .from(notificationChannelPrefs)
    .where(and(eq(notificationChannelPrefs.type, type), inArray(notificationChannelPrefs.userId, [...ids])));
  const out = new Map<string, Partial<Record<Channel, boolean>>>();
  for (const r of rows) {
    const m = out.get(r.userId) ?? {};
    m[r.channel as Channel] = r.enabled;
    out.set(r.userId, m);
  }
  return out;
}

/** Users online in the building's room; a presence failure means "nobody", so pushes still go. */
async function liveUsers(ctx: VerbContext, buildingId: string): Promise<Set<string>> {
  try {
    const members = await presenceOf(ctx.services).getOnlineUsers(buildingId);
    return new Set(members.map((m) => m.userId));
  } catch (err) {
    ctx.services.logger.warn(
      { event: "notification_presence_failed", buildingId, err: String(err) },
      "presence unavailable; pushing",
    );
    return new Set();
  }
}

const CHUNK = 1000;

type InboxInsert = typeof inboxNotifications.$inferInsert;

/** Inbox rows as the one JSON parameter jsonb_to_recordset reads (see writeDecided). */
function inboxJson(rows: readonly InboxInsert[]): string {
  return JSON.stringify(
    rows.map((r) => ({
      id: r.id,
      user_id: r.userId,
      building_id: r.buildingId,
      event_id: r.eventId,
      type: r.type,
      title: r.title,
      body: r.body,
      locale: r.locale,
      data: r.data,
      urgent: r.urgent,
      created_at: (r.createdAt as Date).toISOString(),
    })),
  );
}

/** A recipient's push, before it is put into a chunk. */
interface PushTo {
  notificationId: string;
  userId: string;
  locale: Locale;
  availableAt: Date;
}

/** cyrb53: a 53-bit string hash (Math.imul rounds), synchronous and cheap on a long id list. */
function cyrb53(text: string, seed: number): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/**
 * The idempotency key of an event this module records for notice `eventId` (a push chunk, the
 * rest): the event id in clear, so keys of different notices never meet, then the size and two
 * seeded hashes (~106 bits) of the ids it covers, which only the few events of one notice share a
 * namespace with. A retried run that decides the same set records nothing new; one that decides
 * differently (a member joined, quiet hours changed) records its event too, whose devices already
 * `sent` the sender skips. Synchronous: a SHA-256 through crypto.subtle is a thread-pool hop per key.
 */
function setKey(prefix: string, eventId: string, ids: readonly string[]): string {
  const text = ids.join(",");
  return `${prefix}:${eventId}:${ids.length}:${cyrb53(text, 1).toString(36)}:${cyrb53(text, 2).toString(36)}`;
}

/** An outbox row this module writes itself: a push chunk or the rest of a notice. */
interface EventRow {
  id: string;
  topic: string;
  building_id: string | null;
  payload: unknown;
  idempotency_key: string;
  available_at: string;
}

/**
 * The pushes as `notifications.push` chunk events: PUSH_CHUNK_MAX recipients each, one delivery
 * time each, recipients in user id order so a retried run cuts the same chunks; texts once per
 * locale of the chunk. Chunks due first come first.
 */
function pushChunkRows(
  eventId: string,
  common: Omit<PushChunkPayload, "texts" | "recipients">,
  text: (locale: Locale) => RenderedText,
  pushes: readonly PushTo[],
): EventRow[] {
  if (!pushes.length) return [];
  const byTime = new Map<number, PushTo[]>();
  for (const p of pushes) {
    const at = p.availableAt.getTime();
    const list = byTime.get(at);
    if (list) list.push(p);
    else byTime.set(at, [p]);
  }
  const rows: EventRow[] = [];
  for (const [at, list] of [...byTime.entries()].sort((a, b) => a[0] - b[0])) {
    list.sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
    for (let i = 0; i < list.length; i += PUSH_CHUNK_MAX) {
      const part = list.slice(i, i + PUSH_CHUNK_MAX);
      const texts: PushChunkPayload["texts"] = {};
      for (const p of part) {
        if (!texts[p.locale]) {
          const t = text(p.locale);
          texts[p.locale] = { title: t.title, body: t.body };
        }
      }
      rows.push({
        id: crypto.randomUUID(),
        topic: PUSH_TOPIC,
        building_id: common.buildingId,
        payload: {
          ...common,
          texts,
          recipients: part.map((p) => ({
            notificationId: p.notificationId,
            userId: p.userId,
            locale: p.locale,
          })),
        },
        idempotency_key: setKey(
          "chunk",
          eventId,
          part.map((p) => p.notificationId),
        ),
        available_at: new Date(at).toISOString(),
      });
    }
  }
  return rows;
}

/**
 * Inbox rows and outbox events (push chunks, the rest of the notice) in one statement, each set
 * one parameter (a JSON array read by jsonb_to_recordset: a VALUES list would bind ~12 parameters
 * per row, and binding and parsing 12,000 of them cost more than the insert itself). A row already
 * there (a retried run) is skipped: inbox rows by id, events by (topic, idempotency key). Each
 * written event is handed to the queue after commit (noteRecorded), as recordEvents does. One
 * statement is atomic by itself: no transaction (and its two round trips) is needed around it.
 */
async function writeDecided(
  db: DbOrTx,
  inbox: readonly InboxInsert[],
  events: readonly EventRow[],
): Promise<{ inbox: number; events: EventRow[] }> {
  if (!inbox.length && !events.length) return { inbox: 0, events: [] };
  const correlationId = currentCorrelationId();
  const [result] = await queryRows<{
    inbox: number;
    events: Array<{ id: string; topic: string; building_id: string | null; available_at: string }> | null;
  }>(
    db,
    sql`with inbox as (
          insert into inbox_notifications (id, user_id, building_id, event_id, type, title, body, locale, data, urgent, created_at)
          select id, user_id, building_id, event_id, type, title, body, locale, data, urgent, created_at
          from jsonb_to_recordset(${inboxJson(inbox)}::jsonb) as r(id uuid, user_id uuid, building_id uuid, event_id uuid,
            type text, title text, body text, locale text, data jsonb, urgent boolean, created_at timestamptz)
          on conflict do nothing returning 1
        ), events as (
          insert into outbox (id, building_id, topic, payload, correlation_id, idempotency_key, available_at)
          select id, building_id, topic, payload, ${correlationId}, idempotency_key, available_at
          from jsonb_to_recordset(${JSON.stringify(events)}::jsonb) as r(id uuid, topic text, building_id uuid,
            payload jsonb, idempotency_key text, available_at timestamptz)
          on conflict (topic, idempotency_key) where idempotency_key is not null do nothing
          returning id, topic, building_id, available_at
        )
        select (select count(*) from inbox)::int as inbox,
          (select json_agg(json_build_object('id', id, 'topic', topic, 'building_id', building_id,
            'available_at', available_at)) from events) as events`,
  );
  const written = result?.events ?? [];
  for (const w of written) {
    noteRecorded({
      id: w.id,
      topic: w.topic,
      buildingId: w.building_id,
      correlationId,
      availableAt: new Date(w.available_at),
    });
  }
  const ids = new Set(written.map((w) => w.id));
  return { inbox: result?.inbox ?? 0, events: events.filter((e) => ids.has(e.id)) };
}

export async function deliverNotice(
  ctx: VerbContext,
  notice: Notice,
  options: DeliverOptions = {},
): Promise<DeliverySummary> {
  const summary: DeliverySummary = {
    recipients: 0,
    deferred: 0,
    inbox: 0,
    push: 0,
    pushEvents: 0,
    delayed: 0,
    live: 0,
  };
  let ids = [...new Set(notice.recipients)];
  if (!ids.length) return summary;
  let rest: string[] = [];
  if (options.restOf && ids.length > FIRST_PAGE) {
    // By user id, so a retried run splits the same way (and its rest event is the same event).
    ids.sort();
    rest = ids.slice(FIRST_PAGE);
    ids = ids.slice(0, FIRST_PAGE);
  }
  const spec = specOf(notice.type);
  const { services } = ctx;
  const inRoom = notice.inRoom ?? spec.roomFrame;
  const [recipients, choices, live, overrides] = await Promise.all([
    loadRecipients(ctx.db, ids),
    // Loaded for critical types too: channelEnabled is the one place that overrides them.
    loadChoices(ctx.db, notice.type, ids),
    inRoom && notice.buildingId ? liveUsers(ctx, notice.buildingId) : Promise.resolve(new Set<string>()),
    cachedOverrides(services),
  ]);
  summary.recipients = recipients.length;

  const rendered = new Map<string, RenderedText>();
  const valuesByLocale = new Map<Locale, Record<string, string>>();
  const render = (channel: Channel, locale: Locale): RenderedText => {
    const key = `${channel}:${locale}`;
    let r = rendered.get(key);
    if (!r) {
      let values = valuesByLocale.get(locale);
      if (!values) {
        values = notice.values(locale);
        valuesByLocale.set(locale, values);
      }
      r = renderNotification(notice.type, channel, locale, values, overrides, services.logger);
      rendered.set(key, r);
    }
    return r;
  };

  const now = ctx.now;
  const inboxRows: Array<typeof inboxNotifications.$inferInsert> = [];
  const pushes: PushTo[] = [];
  for (const user of recipients) {
    const choice = choices.get(user.id) ?? {};
    const inApp = channelEnabled(notice.type, "in_app", choice.in_app);
    const push = channelEnabled(notice.type, "push", choice.push);
    if (!inApp && !push) continue;
    const notificationId = notificationIdFor(notice.eventId, user.id);
    const data = { ...notice.data, type: notice.type, eventId: notice.eventId, notificationId };
    if (inApp) {
      const text = render("in_app", user.locale);
      inboxRows.push({
        id: notificationId,
        userId: user.id,
        buildingId: notice.buildingId,
        eventId: notice.eventId,
        type: notice.type,
        title: text.title,
        body: text.body,
        locale: user.locale,
        data,
        urgent: notice.urgent,
        createdAt: now,
      });
    }
    if (!push) continue;
    if (inRoom && live.has(user.id)) {
      summary.live++;
      continue;
    }
    const heldUntil = notice.urgent ? null : quietUntil(now, user.quiet, user.timezone);
    if (heldUntil) summary.delayed++;
    // With a rest event due `now`, the first pushes are due a millisecond before it, so a consumer
    // that takes both in due order (the in-process queue) sends them before deciding the rest.
    pushes.push({
      notificationId,
      userId: user.id,
      locale: user.locale,
      availableAt: heldUntil ?? (rest.length ? new Date(now.getTime() - 1) : now),
    });
  }

  // Every recipient's data map but their own notification id, which the chunk carries per recipient.
  const common: Omit<PushChunkPayload, "texts" | "recipients"> = {
    buildingId: notice.buildingId,
    type: notice.type,
    data: { ...notice.data, type: notice.type, eventId: notice.eventId },
    urgent: notice.urgent,
    ...(notice.collapseKey ? { collapseKey: notice.collapseKey.slice(0, 64) } : {}),
    ttlSeconds: notice.urgent ? 24 * 3600 : 3 * 24 * 3600,
  };
  const events = pushChunkRows(notice.eventId, common, (locale) => render("push", locale), pushes);
  if (rest.length && options.restOf) {
    events.push({
      id: crypto.randomUUID(),
      topic: REST_TOPIC,
      building_id: notice.buildingId,
      payload: {
        source: options.restOf.source,
        event: options.restOf.event,
        recipients: rest,
        at: now.toISOString(),
      },
      // A retried first step that splits the same way records nothing new; one that finds other
      // recipients records their rest too (their pushes skip devices already sent).
      idempotency_key: setKey("rest", notice.eventId, rest),
      available_at: now.toISOString(),
    });
  }
  const count = (written: EventRow[]) => {
    summary.pushEvents += written.filter((e) => e.topic === PUSH_TOPIC).length;
    if (written.some((e) => e.topic === REST_TOPIC)) summary.deferred = rest.length;
  };
  if (inboxRows.length <= CHUNK) {
    // One statement: atomic without a transaction; its events go to the queue once it has run.
    const write = () => writeDecided(ctx.db, inboxRows, events);
    // Inside a caller's transaction its commit hands the events over (as inTransaction joins it).
    const written = await (ctx.db instanceof PgTransaction ? write() : enqueueAfterCommit(services, write));
    summary.inbox = written.inbox;
    count(written.events);
  } else {
    await inTransaction(ctx, async (tx) => {
      for (let i = 0; i < inboxRows.length; i += CHUNK) {
        const last = i + CHUNK >= inboxRows.length;
        const written = await writeDecided(tx.db, inboxRows.slice(i, i + CHUNK), last ? events : []);
        summary.inbox += written.inbox;
        count(written.events);
      }
    });
  }
  summary.push = pushes.length;
  return summary;
}

/** Current (not removed) members of `buildingId` among `userIds`. */
export async function membersAmong(
  db: DbOrTx,
  buildingId: string,
  userIds: readonly string[],
): Promise<string[]> {
  const wanted = [...new Set(userIds)];
  if (!wanted.length) return [];
  const rows = await queryRows<{ user_id: string }>(
    db,
    sql`select user_id from memberships where building_id = ${buildingId} and deleted_at is null and user_id in (${sql.join(
      wanted.map((u) => sql`${u}::uuid`),
      sql`, `,
    )})`,
  );
  return rows.map((r) => r.user_id);
}
