/**
 * The cache tag of everything cached about one building (its own read and its apartment lists).
 * Kept free of imports so the after-commit hook in realtime/publish.ts can drop it without
 * pulling the building verbs into the realtime module.
 */
import type { Services } from "../../services";

export const buildingCacheTag = (buildingId: string) => `building:${buildingId}`;

/** Drops every cached read of these buildings; call after the writing transaction committed. */
export async function invalidateBuildingCaches(
  services: Services,
  buildingIds: Iterable<string>,
): Promise<void> {
  await Promise.all(
    [...new Set(buildingIds)].map((id) => services.cache.invalidateTag(buildingCacheTag(id))),
  );
}
