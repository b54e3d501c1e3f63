/**
 * Maintenance request verbs. Residents open requests for their own apartment and see only that
 * apartment's requests; managers open for any apartment, see all, move the status along
 * open → in_progress → resolved | rejected (or open → rejected) and assign.
 * Visibility rule: a request a caller may not read answers 404 (read or write alike); opening a
 * request for another apartment of the same building is 403, for an apartment of another
 * building 404.
 */
import { and, eq, isNull, type SQL, sql } from "drizzle-orm";
import { maintenanceRequests, memberships, requestComments } from "../../db/schema";
import { ApiError } from "../../errors";
import type { MembershipInfo } from "../../http/auth";
import type { PaginationQuery } from "../../http/pagination";
import { inTransaction, type VerbContext } from "../../verbs";
import { findApartment } from "../buildings/apartment-verbs";
import { actorId, listPage, membershipOf } from "../buildings/common";
import { recordDomainEvent } from "../events";
import { bumpBuildingVersion } from "../sync/version";
import type { REQUEST_STATUSES } from "./schema";

export type RequestRow = typeof maintenanceRequests.$inferSelect;

/** The first `max` code points of `text`, never half a surrogate pair. */
function excerpt(text: string, max: number): string {
  const points = Array.from(text);
  return points.length <= max ? text : `${points.slice(0, max - 1).join("")}…`;
}
export type CommentRow = typeof requestComments.$inferSelect;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];
type Priority = RequestRow["priority"];

/** The allowed status moves; anything else is INVALID_TRANSITION (409). */
export const TRANSITIONS: Record<RequestStatus, readonly RequestStatus[]> = {
  open: ["in_progress", "rejected"],
  in_progress: ["resolved", "rejected"],
  resolved: [],
  rejected: [],
};

export interface OpenRequestInput {
  title: string;
  description?: string;
  category?: string;
  priority?: Priority;
  apartmentId?: string;
}

export interface UpdateRequestInput {
  title?: string;
  description?: string;
  category?: string;
  priority?: Priority;
  status?: RequestStatus;
  assignedTo?: string | null;
}

const canSee = (m: MembershipInfo, row: RequestRow) =>
  m.role === "manager" || m.apartmentId === row.apartmentId;

/** A live request of the building that the caller may see, or 404. */
export async function findRequest(
  ctx: VerbContext,
  buildingId: string,
  requestId: string,
): Promise<RequestRow> {
  const m = membershipOf(ctx, buildingId);
  const [row] = await ctx.db
    .select()
    .from(maintenanceRequests)
    .where(
      and(
        eq(maintenanceRequests.id, requestId),
        eq(maintenanceRequests.buildingId, buildingId),
        isNull(maintenanceRequests.deletedAt),
      ),
    );
  if (!row || !canSee(m, row)) throw new ApiError("NOT_FOUND", `request ${requestId} not found`);
  return row;
}

export async function openRequest(args: {
  ctx: VerbContext;
  buildingId: string;
  input: OpenRequestInput;
}): Promise<RequestRow> {
  const { ctx, buildingId, input } = args;
  const m = membershipOf(ctx, buildingId);
  const { apartmentId: asked, ...fields } = input;
  let apartmentId = asked;
  if (m.role !== "manager") {
    if (!m.apartmentId)
      throw new ApiError("UNPROCESSABLE", "you do not belong to an apartment of this building");
    apartmentId ??= m.apartmentId;
  } else if (!apartmentId) {
    throw new ApiError("UNPROCESSABLE", "managers name the apartment: apartmentId is required", {
      errors: [{ path: "json.apartmentId", message: "required for managers" }],
    });
  }
  return inTransaction(ctx, async (tx) => {
    await findApartment(tx, buildingId, apartmentId!);
    if (m.role !== "manager" && apartmentId !== m.apartmentId) {
      throw new ApiError("FORBIDDEN", "residents open requests for their own apartment only");
    }
    const version = await bumpBuildingVersion(tx.db, buildingId);
    const [row] = await tx.db
      .insert(maintenanceRequests)
      .values({
        ...fields,
        buildingId,
        apartmentId: apartmentId!,
        openedBy: actorId(tx),
        syncVersion: version,
      })
      .returning();
    await recordDomainEvent(tx.db, {
      type: "maintenance.created",
      buildingId,
      actorId: row!.openedBy,
      data: {
        requestId: row!.id,
        title: row!.title,
        category: row!.category,
        priority: row!.priority,
        requesterId: row!.openedBy,
        apartmentId: row!.apartmentId,
      },
    });
    return row!;
  });
}

export async function updateRequest(args: {
  ctx: VerbContext;
  buildingId: string;
  requestId: string;
  input: UpdateRequestInput;
  /** Runs on the current row inside the transaction (If-Match checks); throwing aborts the write. */
  precondition?: (before: RequestRow) => void;
}): Promise<RequestRow> {
  const { ctx, buildingId, requestId, input, precondition } = args;
  const m = membershipOf(ctx, buildingId);
  return inTransaction(ctx, async (tx) => {
    const version = await bumpBuildingVersion(tx.db, buildingId);
    const before = await findRequest(tx, buildingId, requestId);
    precondition?.(before);
    if (m.role !== "manager") {
      const managerOnly = (["status", "assignedTo", "priority", "category"] as const).filter(
        (k) => input[k] !== undefined,
      );
      if (managerOnly.length) {
        throw new ApiError(
          "FORBIDDEN",
          `residents may edit title and description only, not ${managerOnly.join(", ")}`,
        );
      }
      if (before.status !== "open") {
        throw new ApiError("CONFLICT", `the request is ${before.status}; residents edit open requests only`);
      }
    }
    if (
      input.status !== undefined &&
      input.status !== before.status &&
      !TRANSITIONS[before.status].includes(input.status)
    ) {
      throw new ApiError(
        "INVALID_TRANSITION",
        `a request cannot move from ${before.status} to ${input.status}`,
        {
          extensions: { from: before.status, to: input.status, allowed: TRANSITIONS[before.status] },
        },
      );
    }
    if (input.assignedTo) {
      const [assignee] = await tx.db
        .select({ id: memberships.id })
        .from(memberships)
        .where(
          and(
            eq(memberships.buildingId, buildingId),
            eq(memberships.userId, input.assignedTo),
            isNull(memberships.deletedAt),
          ),
        );
      if (!assignee) throw new ApiError("UNPROCESSABLE", "assignedTo must be a member of this building");
    }
    const [row] = await tx.db
      .update(maintenanceRequests)
      .set({ ...input, syncVersion: version, updatedAt: tx.now })
      .where(and(eq(maintenanceRequests.id, requestId), eq(maintenanceRequests.buildingId, buildingId)))
      .returning();
    if (row!.status !== before.status) {
      await recordDomainEvent(tx.db, {
        type: "maintenance.status_changed",
        buildingId,
        actorId: actorId(tx),
        data: {
          requestId,
          title: row!.title,
          from: before.status,
          to: row!.status,
          requesterId: row!.openedBy,
          assigneeId: row!.assignedTo,
          changedBy: actorId(tx),
        },
      });
    }
    return row!;
  });
}

export async function getRequest(args: { ctx: VerbContext; buildingId: string; requestId: string }) {
  return findRequest(args.ctx, args.buildingId, args.requestId);
}

export async function listRequests(args: {
  ctx: VerbContext;
  buildingId: string;
  query: PaginationQuery;
  status?: RequestStatus;
  apartmentId?: string;
}) {
  const { ctx, buildingId, query, status, apartmentId } = args;
  const m = membershipOf(ctx, buildingId);
  let where: SQL | undefined = and(
    eq(maintenanceRequests.buildingId, buildingId),
    isNull(maintenanceRequests.deletedAt),
  );
  // Residents are confined to their apartment whatever filter they pass.
  const own = m.role === "manager" ? null : (m.apartmentId ?? "none");
  if (own)
    where = and(where, m.apartmentId ? eq(maintenanceRequests.apartmentId, m.apartmentId) : sql`false`);
  if (apartmentId) where = and(where, eq(maintenanceRequests.apartmentId, apartmentId));
  if (status) where = and(where, eq(maintenanceRequests.status, status));
  return listPage<RequestRow>(ctx, query, {
    table: maintenanceRequests,
    where,
    scope: `requests:${buildingId}:${own ?? "*"}:${apartmentId ?? ""}:${status ?? ""}`,
    sort: {
      column: maintenanceRequests.createdAt,
      id: maintenanceRequests.id,
      direction: "desc",
      key: (r) => r.createdAt,
    },
    fetch: (q) =>
      ctx.db
        .select()
        .from(maintenanceRequests)
        .where(q.where)
        .orderBy(...q.orderBy)
        .limit(q.limit)
        .offset(q.offset),
  });
}

export async function addComment(args: {
  ctx: VerbContext;
  buildingId: string;
  requestId: string;
  body: string;
}): Promise<CommentRow> {
  const { ctx, buildingId, requestId, body } = args;
  return inTransaction(ctx, async (tx) => {
    const version = await bumpBuildingVersion(tx.db, buildingId);
    const request = await findRequest(tx, buildingId, requestId);
    const [row] = await tx.db
      .insert(requestComments)
      .values({ buildingId, requestId, authorId: actorId(tx), body, syncVersion: version })
      .returning();
    await recordDomainEvent(tx.db, {
      type: "maintenance.commented",
      buildingId,
      actorId: row!.authorId,
      data: {
        requestId,
        commentId: row!.id,
        title: request.title,
        authorId: row!.authorId,
        requesterId: request.openedBy,
        assigneeId: request.assignedTo,
        excerpt: excerpt(body, 280),
      },
    });
    return row!;
  });
}

export async function listComments(args: {
  ctx: VerbContext;
  buildingId: string;
  requestId: string;
  query: PaginationQuery;
}) {
  const { ctx, buildingId, requestId, query } = args;
  await findRequest(ctx, buildingId, requestId);
  return listPage<CommentRow>(ctx, query, {
    table: requestComments,
    where: and(
      eq(requestComments.buildingId, buildingId),
      eq(requestComments.requestId, requestId),
      isNull(requestComments.deletedAt),
    ),
    scope: `comments:${buildingId}:${requestId}`,
    sort: {
      column: requestComments.createdAt,
      id: requestComments.id,
      direction: "asc",
      key: (r) => r.createdAt,
    },
    fetch: (q) =>
      ctx.db
        .select()
        .from(requestComments)
        .where(q.where)
        .orderBy(...q.orderBy)
        .limit(q.limit)
        .offset(q.offset),
  });
}
