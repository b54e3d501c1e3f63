/**
 * The signed-in user's notification verbs (inbox, preferences, quiet hours) and the
 * administrators' template overrides. Framework-free: routes call these.
 */
import { and, count, eq, isNull, sql } from "drizzle-orm";
import { users } from "../../db/schema";
import { ApiError, type FieldError } from "../../errors";
import type { PaginationQuery } from "../../http/pagination";
import { inTransaction, type VerbContext } from "../../verbs";
import { actorId, listPage } from "../buildings/common";
import { isValidTimeZone } from "../i18n/format";
import { LOCALES, type Locale } from "../i18n/locales";
import {
  CHANNELS,
  type Channel,
  channelEnabled,
  NOTIFICATION_TYPE_NAMES,
  NOTIFICATION_TYPES,
  type NotificationType,
} from "./catalogue";
import { cachedOverrides, deleteOverride, invalidateOverrides, saveOverride } from "./overrides";
import { formatClock, parseClock } from "./quiet-hours";
import { templateProblems, templateText } from "./render";
import { inboxNotifications, notificationChannelPrefs, notificationQuietHours } from "./tables";
import { templateKey } from "./templates";

export type InboxRow = typeof inboxNotifications.$inferSelect;

// ---- inbox ----

export async function listInbox(args: { ctx: VerbContext; query: PaginationQuery; unread?: boolean }) {
  const { ctx, query, unread } = args;
  const userId = actorId(ctx);
  const mine = eq(inboxNotifications.userId, userId);
  const where = unread ? and(mine, isNull(inboxNotifications.readAt)) : mine;
  const [page, unreadCount] = await Promise.all([
    listPage<InboxRow>(ctx, query, {
      table: inboxNotifications,
      where,
      scope: `inbox:${userId}:${unread ? "unread" : "all"}`,
      sort: {
        column: inboxNotifications.createdAt,
        id: inboxNotifications.id,
        direction: "desc",
        key: (r) => r.createdAt,
      },
      fetch: ({ where, orderBy, limit, offset }) =>
        ctx.db
          .select()
          .from(inboxNotifications)
          .where(where)
          .orderBy(...orderBy)
          .limit(limit)
          .offset(offset),
    }),
    countUnread(ctx, userId),
  ]);
  return { ...page, unreadCount };
}

async function countUnread(ctx: VerbContext, userId: string): Promise<number> {
  const [row] = await ctx.db
    .select({ n: count() })
    .from(inboxNotifications)
    .where(and(eq(inboxNotifications.userId, userId), isNull(inboxNotifications.readAt)));
  return Number(row?.n ?? 0);
}

export async function markRead(args: { ctx: VerbContext; notificationId: string }): Promise<InboxRow> {
  const { ctx, notificationId } = args;
  const userId = actorId(ctx);
  const [row] = await ctx.db
    .update(inboxNotifications)
    .set({ readAt: sql`coalesce(${inboxNotifications.readAt}, ${ctx.now.toISOString()}::timestamptz)` })
    .where(and(eq(inboxNotifications.id, notificationId), eq(inboxNotifications.userId, userId)))
    .returning();
  if (!row) throw new ApiError("NOT_FOUND", "notification not found");
  return row;
}

export async function markAllRead(args: { ctx: VerbContext }): Promise<{ updated: number }> {
  const userId = actorId(args.ctx);
  const rows = await args.ctx.db
    .update(inboxNotifications)
    .set({ readAt: args.ctx.now })
    .where(and(eq(inboxNotifications.userId, userId), isNull(inboxNotifications.readAt)))
    .returning({ id: inboxNotifications.id });
  return { updated: rows.length };
}

// ---- preferences ----

export interface TypePreferences {
  type: NotificationType;
  critical: boolean;
  channels: Record<Channel, boolean>;
  defaults: Record<Channel, boolean>;
}

export async function getPreferences(ctx: VerbContext): Promise<TypePreferences[]> {
  const userId = actorId(ctx);
  const rows = await ctx.db
    .select()
    .from(notificationChannelPrefs)
    .where(eq(notificationChannelPrefs.userId, userId));
  const stored = new Map(rows.map((r) => [`${r.type}:${r.channel}`, r.enabled]));
  return NOTIFICATION_TYPE_NAMES.map((type) => {
    const spec = NOTIFICATION_TYPES[type];
    const channels = {} as Record<Channel, boolean>;
    for (const channel of CHANNELS)
      channels[channel] = channelEnabled(type, channel, stored.get(`${type}:${channel}`));
    return { type, critical: spec.critical, channels, defaults: { ...spec.defaults } };
  });
}

export async function setPreferences(args: {
  ctx: VerbContext;
  preferences: Array<{ type: NotificationType; channel: Channel; enabled: boolean }>;
}): Promise<TypePreferences[]> {
  const { ctx, preferences } = args;
  const userId = actorId(ctx);
  // Critical types are read-only (property 13): asking to turn one off is refused, asking for
  // what it already is changes nothing.
  const errors: FieldError[] = [];
  preferences.forEach((p, i) => {
    if (NOTIFICATION_TYPES[p.type].critical && !p.enabled)
      errors.push({
        path: `preferences.${i}.enabled`,
        message: `${p.type} is critical and cannot be turned off`,
        code: "critical_type",
      });
  });
  if (errors.length)
    throw new ApiError("VALIDATION_FAILED", "critical notification types cannot be turned off", { errors });
  const writable = preferences.filter((p) => !NOTIFICATION_TYPES[p.type].critical);
  if (writable.length) {
    // The last entry for a (type, channel) wins, as a client listing it twice would expect.
    const unique = new Map(writable.map((p) => [`${p.type}:${p.channel}`, p]));
    await inTransaction(ctx, (tx) =>
      tx.db
        .insert(notificationChannelPrefs)
        .values([...unique.values()].map((p) => ({ userId, ...p, updatedAt: tx.now })))
        .onConflictDoUpdate({
          target: [
            notificationChannelPrefs.userId,
            notificationChannelPrefs.type,
            notificationChannelPrefs.channel,
          ],
          set: { enabled: sql`excluded.enabled`, updatedAt: sql`excluded.updated_at` },
        }),
    );
  }
  return getPreferences(ctx);
}

// ---- quiet hours ----

export interface QuietHoursView {
  enabled: boolean;
  start: string | null;
  end: string | null;
  timezone: string;
}

export async function getQuietHours(ctx: VerbContext): Promise<QuietHoursView> {
  const userId = actorId(ctx);
  const [row] = await ctx.db
    .select({
      tz: users.timezone,
      start: notificationQuietHours.startMinute,
      end: notificationQuietHours.endMinute,
    })
    .from(users)
    .leftJoin(notificationQuietHours, eq(notificationQuietHours.userId, users.id))
    .where(eq(users.id, userId));
  if (!row) throw new ApiError("NOT_FOUND", "user not found");
  const on = row.start !== null && row.end !== null;
  return {
    enabled: on,
    start: on ? formatClock(row.start!) : null,
    end: on ? formatClock(row.end!) : null,
    timezone: row.tz,
  };
}

/** Sets (start and end) or clears (both null) the window; `timezone` updates the user's zone. */
export async function setQuietHours(args: {
  ctx: VerbContext;
  input: { start: string | null; end: string | null; timezone?: string };
}): Promise<QuietHoursView> {
  const { ctx, input } = args;
  const userId = actorId(ctx);
  const errors: FieldError[] = [];
  if ((input.start === null) !== (input.end === null))
    errors.push({ path: "end", message: "give both start and end, or neither to turn quiet hours off" });
  const start = input.start === null ? null : parseClock(input.start);
  const end = input.end === null ? null : parseClock(input.end);
  if (input.start !== null && start === null)
    errors.push({ path: "start", message: "expected HH:MM (00:00–23:59)" });
  if (input.end !== null && end === null)
    errors.push({ path: "end", message: "expected HH:MM (00:00–23:59)" });
  if (start !== null && end !== null && start === end)
    errors.push({ path: "end", message: "start and end are the same time: the window would be empty" });
  if (input.timezone !== undefined && !isValidTimeZone(input.timezone))
    errors.push({ path: "timezone", message: `${input.timezone.slice(0, 64)} is not an IANA time zone` });
  if (errors.length) throw new ApiError("VALIDATION_FAILED", "invalid quiet hours", { errors });
  await inTransaction(ctx, async (tx) => {
    if (input.timezone !== undefined)
      await tx.db.update(users).set({ timezone: input.timezone }).where(eq(users.id, userId));
    if (start === null || end === null) {
      await tx.db.delete(notificationQuietHours).where(eq(notificationQuietHours.userId, userId));
    } else {
      await tx.db
        .insert(notificationQuietHours)
        .values({ userId, startMinute: start, endMinute: end, updatedAt: tx.now })
        .onConflictDoUpdate({
          target: notificationQuietHours.userId,
          set: { startMinute: start, endMinute: end, updatedAt: tx.now },
        });
    }
  });
  return getQuietHours(ctx);
}

// ---- templates (platform administrators) ----

export interface TemplateView {
  type: NotificationType;
  variables: readonly string[];
  critical: boolean;
  defaults: Record<Channel, boolean>;
  texts: Array<{ locale: Locale; channel: Channel; title: string; body: string; overridden: boolean }>;
}

export async function listTemplates(ctx: VerbContext): Promise<TemplateView[]> {
  const overrides = await cachedOverrides(ctx.services);
  return NOTIFICATION_TYPE_NAMES.map((type) => {
    const spec = NOTIFICATION_TYPES[type];
    const texts: TemplateView["texts"] = [];
    for (const locale of LOCALES)
      for (const channel of CHANNELS) {
        const own = overrides[locale] ?? {};
        texts.push({
          locale,
          channel,
          title: templateText(type, channel, "title", locale, overrides, ctx.services.logger),
          body: templateText(type, channel, "body", locale, overrides, ctx.services.logger),
          overridden:
            own[templateKey(type, channel, "title")] !== undefined ||
            own[templateKey(type, channel, "body")] !== undefined,
        });
      }
    return {
      type,
      variables: spec.variables,
      critical: spec.critical,
      defaults: { ...spec.defaults },
      texts,
    };
  });
}

/** Saves an override; a text naming an undeclared variable is refused here, not at send time (property 14). */
export async function saveTemplate(args: {
  ctx: VerbContext;
  type: NotificationType;
  locale: Locale;
  channel: Channel;
  input: { title: string; body: string };
}): Promise<TemplateView> {
  const { ctx, type, locale, channel, input } = args;
  const errors: FieldError[] = [];
  for (const part of ["title", "body"] as const)
    for (const message of templateProblems(type, input[part]))
      errors.push({ path: part, message, code: "undeclared_variable" });
  if (errors.length) throw new ApiError("VALIDATION_FAILED", `template refused for ${type}`, { errors });
  await inTransaction(ctx, async (tx) => {
    for (const part of ["title", "body"] as const)
      await saveOverride(tx.db, {
        key: templateKey(type, channel, part),
        language: locale,
        value: input[part],
      });
  });
  await invalidateOverrides(ctx.services);
  return (await listTemplates(ctx)).find((t) => t.type === type)!;
}

export async function resetTemplate(args: {
  ctx: VerbContext;
  type: NotificationType;
  locale: Locale;
  channel: Channel;
}): Promise<void> {
  const { ctx, type, locale, channel } = args;
  let removed = 0;
  await inTransaction(ctx, async (tx) => {
    for (const part of ["title", "body"] as const)
      removed += await deleteOverride(tx.db, { key: templateKey(type, channel, part), language: locale });
  });
  await invalidateOverrides(ctx.services);
  if (!removed) throw new ApiError("NOT_FOUND", "no override for that template");
}
