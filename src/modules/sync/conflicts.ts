/** The caller's sync conflicts, newest first, cursor-paginated (design property 26). */
import { desc, eq } from "drizzle-orm";
import { syncConflicts } from "../../db/schema";
import { ApiError } from "../../errors";
import { type Paginated, type PaginationQuery, paginate } from "../../http/pagination";
import { userOf, type VerbContext } from "../../verbs";

export type ConflictRow = typeof syncConflicts.$inferSelect;

export async function listConflicts(
  ctx: VerbContext,
  query: PaginationQuery,
): Promise<Paginated<ConflictRow>> {
  const user = userOf(ctx);
  if (!user) throw new ApiError("UNAUTHENTICATED", "sign in to list conflicts");
  const mine = eq(syncConflicts.userId, user.userId);
  return paginate<ConflictRow>({
    query,
    scope: `sync.conflicts:${user.userId}`,
    secret: ctx.services.config.JWT_SECRET ?? "horizon-cursor",
    now: ctx.now,
    sort: {
      column: syncConflicts.createdAt,
      id: syncConflicts.id,
      direction: "desc",
      key: (r) => r.createdAt,
    },
    where: mine,
    fetch: ({ where, orderBy, limit, offset }) =>
      ctx.db
        .select()
        .from(syncConflicts)
        .where(where)
        .orderBy(...(orderBy.length ? orderBy : [desc(syncConflicts.createdAt)]))
        .limit(limit)
        .offset(offset),
    count: async (where) => ctx.db.$count(syncConflicts, where),
  });
}
