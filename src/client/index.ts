/**
 * @horizon/client — the Horizon client SDK: auth, typed REST, offline sync and live building rooms
 * in one object, for web, React Native, Node and Bun.
 *
 *   import { createHorizonClient } from "@horizon/client";
 *   import { memoryStorage } from "@horizon/client/storage/memory";
 *   const horizon = await createHorizonClient({ url: "http://localhost:8787", storage: memoryStorage() });
 *
 * This entry uses no Node or DOM API (a test bundles it for React Native and checks); storage
 * adapters and the Node WebSocket shim are separate entries.
 */
export { PROTOCOL_HEADER, PROTOCOL_VERSION } from "../protocol/version";
/**
 * The generated REST types (`paths` keyed by URL, `components["schemas"]`, `operations`), for
 * typing your own helpers. Left out of the API pages: the served /docs is their reference.
 * @hidden
 */
export type { components, operations, paths } from "./api/schema";
export type { Auth, AuthEvent, Credentials, RegisterInput, Session, SignOutReason, User } from "./auth";
export {
  type ClientEvent,
  createHorizonClient,
  type HorizonClient,
  type HorizonClientOptions,
  type RoomOptions,
  type SyncOptions,
} from "./client";
export { type ClientErrorCode, HorizonError, isHorizonError, type Problem } from "./errors";
export {
  connectRealtime,
  type RealtimeClient,
  type RealtimeClientOptions,
  type Transport as RoomTransport,
} from "./realtime/index";
export {
  type HorizonStorage,
  KvSyncStore,
  type LeaseOptions,
  StorageLease,
  StoreLockedError,
} from "./storage/index";
export * from "./sync/index";
export type { RetryOptions } from "./transport";
