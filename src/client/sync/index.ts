/**
 * Horizon sync SDK: offline edits with a durable queue, optimistic views, and a push/pull loop
 * against /api/v1/sync. Portable (browsers, React Native, Bun, Node). In the package
 * (`@horizon/client/sync`) it is usually reached through createHorizonClient().sync(); the
 * storage adapters (file for Node, IndexedDB, React Native) are separate entries, so bundles for
 * other platforms never pull in `node:fs`. (sync/file-store.ts is the repository's own Node
 * store for tests and tools; the package ships storage/file.ts instead.)
 */

export * from "../../protocol/sync";
export { SyncClient } from "./client";
export { compareHlc, formatHlc, type Hlc, HlcClock, parseHlc } from "./hlc";
export { IndexedDbStore } from "./indexeddb-store";
export { type LocalStore, MemoryStore, type QueuedOp, type StoreState } from "./store";
export {
  type BackoffOptions,
  backoffDelay,
  type RejectedOp,
  type SyncClientOptions,
  type SyncEvents,
  SyncHttpError,
} from "./support";
