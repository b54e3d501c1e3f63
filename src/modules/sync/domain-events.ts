/**
 * The domain events of a sync batch: offline edits are writes like REST ones, so subscribers
 * (notifications, webhooks) hear of an announcement posted, a request opened, moved or commented
 * and an announcement deleted whichever way it arrived. Read off the batch's dirty rows after the
 * ops applied (`before` is the row as loaded), recorded in the batch's transaction in one statement.
 */
import type { DomainEventType } from "../../protocol/events";
import type { NewDomainEvent } from "../events";
import { type Work, workKey } from "./working-set";

type Event = NewDomainEvent<DomainEventType>;

export function batchDomainEvents(
  dirty: readonly Work[],
  work: ReadonlyMap<string, Work>,
  ctx: { userId: string; now: Date },
): Event[] {
  const events: Event[] = [];
  for (const w of dirty) {
    const r = w.row;
    if (!r) continue;
    const deletedNow = Boolean(r.deletedAt) && !w.before?.deletedAt;
    const buildingId = r.buildingId as string;
    switch (w.entity) {
      case "announcements": {
        const announcement = {
          announcementId: w.id,
          title: r.title as string,
          priority: ((r.priority as string | undefined) ?? "normal") as "normal" | "important" | "urgent",
          authorId: r.authorId as string,
        };
        const publishedAt = r.publishedAt ? new Date(r.publishedAt as Date) : ctx.now;
        if (w.isNew && !r.deletedAt && publishedAt <= ctx.now) {
          events.push({
            type: "announcement.published",
            buildingId,
            actorId: ctx.userId,
            data: { ...announcement, publishedAt: publishedAt.toISOString() },
          });
        } else if (!w.isNew && deletedNow) {
          events.push({
            type: "announcement.deleted",
            buildingId,
            actorId: ctx.userId,
            data: { announcementId: w.id },
          });
        }
        break;
      }
      case "maintenance_requests": {
        if (w.isNew && !r.deletedAt) {
          events.push({
            type: "maintenance.created",
            buildingId,
            actorId: ctx.userId,
            data: {
              requestId: w.id,
              title: r.title as string,
              category: (r.category as string | null) ?? null,
              priority: (r.priority as string) ?? "normal",
              requesterId: r.openedBy as string,
              apartmentId: (r.apartmentId as string | null) ?? null,
            },
          });
        } else if (!w.isNew && w.before?.status !== undefined && r.status !== w.before.status) {
          events.push({
            type: "maintenance.status_changed",
            buildingId,
            actorId: ctx.userId,
            data: {
              requestId: w.id,
              title: r.title as string,
              from: w.before.status,
              to: r.status as string,
              requesterId: r.openedBy as string,
              assigneeId: (r.assignedTo as string | null) ?? null,
              changedBy: ctx.userId,
            },
          });
        }
        break;
      }
      case "request_comments": {
        if (!w.isNew || r.deletedAt) break;
        const request = work.get(workKey("maintenance_requests", r.requestId as string))?.row;
        if (!request) break;
        const body = Array.from(String(r.body ?? ""));
        events.push({
          type: "maintenance.commented",
          buildingId,
          actorId: ctx.userId,
          data: {
            requestId: r.requestId as string,
            commentId: w.id,
            title: request.title as string,
            authorId: r.authorId as string,
            requesterId: request.openedBy as string,
            assigneeId: (request.assignedTo as string | null) ?? null,
            excerpt: body.length <= 280 ? body.join("") : `${body.slice(0, 279).join("")}…`,
          },
        });
        break;
      }
      default:
        break;
    }
  }
  return events;
}
