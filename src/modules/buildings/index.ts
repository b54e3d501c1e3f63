/**
 * Buildings, their apartments and their members: the tenancy every other domain module hangs
 * off. Writes bump the building's sync version and stamp their rows with it; membership writes
 * are audited in the same transaction.
 */
import type { App } from "../../http/env";
import { registerBuildingCacheInvalidation } from "./cache-tags";
import { registerAddMember } from "./routes/add-member";
import { registerCreateApartment } from "./routes/create-apartment";
import { registerCreateBuilding } from "./routes/create-building";
import { registerDeleteApartment } from "./routes/delete-apartment";
import { registerGetApartment } from "./routes/get-apartment";
import { registerGetBuilding } from "./routes/get-building";
import { registerListApartments } from "./routes/list-apartments";
import { registerListBuildings } from "./routes/list-buildings";
import { registerListMembers } from "./routes/list-members";
import { registerRemoveMember } from "./routes/remove-member";
import { registerUpdateApartment } from "./routes/update-apartment";
import { registerUpdateBuilding } from "./routes/update-building";
import { registerUpdateMember } from "./routes/update-member";

// Cached reads of a building are dropped after every commit that moves its version.
registerBuildingCacheInvalidation();

export function registerBuildings(app: App): void {
  registerCreateBuilding(app);
  registerListBuildings(app);
  registerGetBuilding(app);
  registerUpdateBuilding(app);
  registerCreateApartment(app);
  registerListApartments(app);
  registerGetApartment(app);
  registerUpdateApartment(app);
  registerDeleteApartment(app);
  registerListMembers(app);
  registerAddMember(app);
  registerUpdateMember(app);
  registerRemoveMember(app);
}
