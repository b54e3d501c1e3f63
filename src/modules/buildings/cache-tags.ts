/**
 * The cache tag of everything cached about one building (its own read and its apartment lists).
 * Kept free of imports so the after-commit hook in realtime/publish.ts can drop it without
 * pulling the building verbs into the realtime module.
 */
import type { Services } from "../../services";
import { registerAfterCommit } from "../outbox/after-commit";

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

/**
 * After each commit that moved building versions, drop those buildings' cached reads (before the
 * pokes make clients refetch). Registered by the module (index.ts), so writers elsewhere need no
 * import of buildings.
 */
export function registerBuildingCacheInvalidation(): void {
  registerAfterCommit("buildings.cache", async (services, { bumpedBuildings }) => {
    if (bumpedBuildings.length) await invalidateBuildingCaches(services, bumpedBuildings);
  });
}
