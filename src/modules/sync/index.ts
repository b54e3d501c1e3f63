/**
 * Offline sync: versioned delta pull, idempotent last-write-wins push, the conflict log and sync
 * state. The cursor is the building version advanced by `bumpBuildingVersion` (version.ts), the
 * one function every write path calls (ADR 0001); the merge rules are in ADR 0002.
 */
import type { App } from "../../http/env";
import { registerSyncConflictHandler } from "./conflict-events";
import { registerListConflicts } from "./routes/list-conflicts";
import { registerPull } from "./routes/pull";
import { registerPush } from "./routes/push";

// The module's outbox handlers, in the process registry from the moment the module loads.
registerSyncConflictHandler();

export function registerSync(app: App): void {
  registerPull(app);
  registerPush(app);
  registerListConflicts(app);
}
