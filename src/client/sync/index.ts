/**
 * Horizon sync SDK: offline edits with a durable queue, optimistic views, and a push/pull loop
 * against /api/v1/sync. Portable (browsers, React Native, Bun, Node); the Node file store is a
 * separate entry (`./file-store`) so bundles for other platforms never pull in `node:fs`.
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
