/**
 * Cached reads of a building and of its apartment lists (issue 4 item 7, design property 35).
 * Entries carry the tag `building:<id>`. Every write that changes what they show bumps the
 * building's version (apartments, members, the building row, and the version number itself that
 * the building shows), and `publishAfterCommit` drops the tag of every bumped building once the
 * transaction has committed and before the room is poked: a read after a write never sees the
 * old rows, in this process or any other sharing the kv. The cached values are the JSON response
 * shapes themselves, so an answer is byte for byte (and ETag for ETag) the same, hit or miss.
 */
import type { PaginationQuery } from "../../http/pagination";
import type { VerbContext } from "../../verbs";
import { listApartments } from "./apartment-verbs";
import { getBuilding } from "./building-verbs";
import { buildingCacheTag } from "./cache-tags";
import { membershipOf } from "./common";
import { toApartment, toBuilding } from "./schemas";

/** Freshness backstop only: writes invalidate at once, so this bounds a missed invalidation. */
export const BUILDING_CACHE_TTL_MS = 60_000;

/** GET /buildings/{id}: the same for every member, so one entry per building. */
export async function readBuilding(ctx: VerbContext, buildingId: string) {
  // The tenant check runs on every call; a cached value never stands in for it.
  membershipOf(ctx, buildingId);
  return ctx.services.cache.remember(
    `building:${buildingId}:view`,
    BUILDING_CACHE_TTL_MS,
    async () => toBuilding(await getBuilding({ ctx, buildingId })),
    { tags: [buildingCacheTag(buildingId)] },
  );
}

/**
 * GET /buildings/{id}/apartments. The answer depends on the caller's view (managers, and residents
 * for their own apartment, see area and rooms) and on every query parameter, so all are in the key.
 */
export async function readApartmentPage(
  ctx: VerbContext,
  buildingId: string,
  query: PaginationQuery,
  floor: number | undefined,
) {
  const m = membershipOf(ctx, buildingId);
  const view = m.role === "manager" ? "manager" : `resident:${m.apartmentId ?? "-"}`;
  const params = JSON.stringify([
    floor ?? null,
    query.page ?? null,
    query.limit ?? null,
    query.cursor ?? null,
  ]);
  return ctx.services.cache.remember(
    `apartments:${buildingId}:${view}:${params}`,
    BUILDING_CACHE_TTL_MS,
    async () => {
      const page = await listApartments({ ctx, buildingId, query, floor });
      return { data: page.data.map((a) => toApartment(a.row, a.full)), pagination: page.pagination };
    },
    { tags: [buildingCacheTag(buildingId)] },
  );
}
