/**
 * Which domain events become notices, to whom, with which values. Recipients are current members
 * of the event's building (a removed member hears nothing more), minus whoever caused the event.
 */
import { and, eq, isNull } from "drizzle-orm";
import { apartments, buildings, memberships } from "../../db/schema";
import type { DomainEventData, DomainEventEnvelope, DomainEventType } from "../../protocol/events";
import type { VerbContext } from "../../verbs";
import { translate } from "../i18n/catalog";
import { formatCurrency, formatDate } from "../i18n/format";
import type { Locale } from "../i18n/locales";
import { membersAmong, type Notice } from "./deliver";

/** The domain event types the notifications subscriber receives. */
export const NOTIFIED_EVENT_TYPES = [
  "announcement.published",
  "maintenance.status_changed",
  "maintenance.commented",
  "payment.due",
  "payment.recorded",
  "member.joined",
  "sync.conflict",
] as const satisfies readonly DomainEventType[];

const without = (ids: Array<string | null | undefined>, ...out: Array<string | null | undefined>) =>
  ids.filter((id): id is string => !!id && !out.includes(id));

async function buildingName(ctx: VerbContext, buildingId: string): Promise<string> {
  const [row] = await ctx.db
    .select({ name: buildings.name })
    .from(buildings)
    .where(eq(buildings.id, buildingId));
  return row?.name ?? "";
}

async function apartmentResidents(ctx: VerbContext, buildingId: string, apartmentId: string) {
  const rows = await ctx.db
    .select({ userId: memberships.userId })
    .from(memberships)
    .where(
      and(
        eq(memberships.buildingId, buildingId),
        eq(memberships.apartmentId, apartmentId),
        isNull(memberships.deletedAt),
      ),
    );
  const [apt] = await ctx.db
    .select({ number: apartments.number })
    .from(apartments)
    .where(eq(apartments.id, apartmentId));
  return { userIds: rows.map((r) => r.userId), number: apt?.number ?? "" };
}

/** A conflict value as stored (JSON text) shown to a person: strings unquoted, null as "(empty)". */
export function conflictValue(json: string | null, locale: Locale): string {
  if (json === null) return translate("common", "empty", locale);
  try {
    const v = JSON.parse(json) as unknown;
    if (v === null || v === "") return translate("common", "empty", locale);
    return typeof v === "string" ? v : json;
  } catch {
    return json;
  }
}

/** The notice of a domain event, or null when nobody is notified of it. */
export async function noticeFor(ctx: VerbContext, event: DomainEventEnvelope): Promise<Notice | null> {
  const base = { eventId: event.eventId, buildingId: event.buildingId, urgent: false };
  const logger = ctx.services.logger;
  switch (event.type) {
    case "announcement.published": {
      const d = event.data as DomainEventData<"announcement.published">;
      const [rows, building] = await Promise.all([
        ctx.db
          .select({ userId: memberships.userId })
          .from(memberships)
          .where(and(eq(memberships.buildingId, event.buildingId), isNull(memberships.deletedAt))),
        buildingName(ctx, event.buildingId),
      ]);
      return {
        ...base,
        type: "announcement",
        recipients: without(
          rows.map((r) => r.userId),
          d.authorId,
          event.actorId,
        ),
        urgent: d.priority === "urgent",
        values: () => ({ title: d.title, building }),
        data: { announcementId: d.announcementId, buildingId: event.buildingId },
        collapseKey: `announcement:${d.announcementId}`,
      };
    }
    case "maintenance.status_changed": {
      const d = event.data as DomainEventData<"maintenance.status_changed">;
      const recipients = await membersAmong(
        ctx.db,
        event.buildingId,
        without([d.requesterId, d.assigneeId], d.changedBy, event.actorId),
      );
      return {
        ...base,
        type: "maintenance.status",
        recipients,
        values: (locale) => ({
          title: d.title,
          status: translate("common", `status.${d.to}`, locale, logger),
        }),
        data: { requestId: d.requestId, buildingId: event.buildingId },
        collapseKey: `request:${d.requestId}`,
        // The room frame names who changed it; a change without one (the system) has no frame.
        inRoom: d.changedBy !== null,
      };
    }
    case "maintenance.commented": {
      const d = event.data as DomainEventData<"maintenance.commented">;
      const recipients = await membersAmong(
        ctx.db,
        event.buildingId,
        without([d.requesterId, d.assigneeId], d.authorId, event.actorId),
      );
      return {
        ...base,
        type: "maintenance.comment",
        recipients,
        values: () => ({ title: d.title, excerpt: d.excerpt }),
        data: { requestId: d.requestId, commentId: d.commentId, buildingId: event.buildingId },
      };
    }
    case "payment.due":
    case "payment.recorded": {
      const d = event.data as DomainEventData<"payment.due"> | DomainEventData<"payment.recorded">;
      if (!d.apartmentId) return null;
      const apt = await apartmentResidents(ctx, event.buildingId, d.apartmentId);
      const due = event.type === "payment.due" ? (d as DomainEventData<"payment.due">) : null;
      return {
        ...base,
        type: due ? "payment.due" : "payment.recorded",
        recipients: due ? apt.userIds : without(apt.userIds, event.actorId),
        values: (locale) => ({
          amount: formatCurrency(d.amountMinor, d.currency, locale),
          apartment: apt.number,
          ...(due ? { dueDate: formatDate(due.dueDate, locale) } : {}),
        }),
        data: { paymentId: d.paymentId, apartmentId: d.apartmentId, buildingId: event.buildingId },
      };
    }
    case "member.joined": {
      const d = event.data as DomainEventData<"member.joined">;
      if (!d.invited) return null;
      const building = await buildingName(ctx, event.buildingId);
      return {
        ...base,
        type: "invitation",
        recipients: await membersAmong(ctx.db, event.buildingId, [d.userId]),
        values: (locale) => ({ building, role: translate("common", `role.${d.role}`, locale, logger) }),
        data: { buildingId: event.buildingId, memberId: d.memberId },
      };
    }
    case "sync.conflict": {
      const d = event.data as DomainEventData<"sync.conflict">;
      return {
        ...base,
        type: "sync.conflict",
        recipients: await membersAmong(ctx.db, event.buildingId, [d.userId]),
        values: (locale) => ({
          field: d.field,
          theirs: conflictValue(d.theirs, locale),
          winner: conflictValue(d.winner, locale),
        }),
        data: { conflictId: d.conflictId, entity: d.entity, rowId: d.rowId, buildingId: event.buildingId },
      };
    }
    default:
      return null;
  }
}
