/**
 * createHorizonClient: one object for auth, typed REST, offline sync and live building rooms,
 * sharing one session, one storage, one device id and one base URL (the server's origin: every
 * path, REST or sync or room, is derived from it).
 */
import createClient, { type Client } from "openapi-fetch";
import { PROTOCOL_VERSION } from "../protocol/version";
import type { paths } from "./api/schema";
import { Auth, type AuthEvent } from "./auth";
import { HorizonError } from "./errors";
import { connectRealtime, type RealtimeClient, type RealtimeClientOptions } from "./realtime/index";
import {
  type HorizonStorage,
  KvSyncStore,
  type LeaseOptions,
  StorageLease,
  StoreLockedError,
} from "./storage/index";
import { SyncClient } from "./sync/client";
import type { SyncClientOptions } from "./sync/support";
import { type RetryOptions, Transport } from "./transport";

export interface HorizonClientOptions {
  /** The server's origin, e.g. `https://api.horizon.example` (a trailing `/api/v1` is tolerated). */
  url: string;
  /** Where the session, the sync queue and pulled rows live: an adapter from `@horizon/client/storage/*`. */
  storage: HorizonStorage;
  /** This install's id (presence, sync clocks). Default: a random id kept in storage. */
  deviceId?: string;
  /** Transport; default the global fetch. */
  fetch?: typeof fetch;
  /** Node 20 has no global WebSocket: pass `WebSocket` from `@horizon/client/node-websocket`. */
  WebSocket?: unknown;
  /** Retries of refused and failed requests (sync runs its own backoff). */
  retry?: RetryOptions;
  /** Refresh the access token on a timer before it expires (default true). */
  autoRefresh?: boolean;
  /** Storage key prefix (several clients in one storage). Default `horizon:`. */
  storagePrefix?: string;
}

export interface SyncOptions
  extends Omit<SyncClientOptions, "baseUrl" | "token" | "store" | "deviceId" | "fetch"> {
  /** Wait this long for another instance to give the queue up (default 0: refuse at once). */
  waitForQueueMs?: number;
  lease?: LeaseOptions;
}

export interface RoomOptions
  extends Omit<
    RealtimeClientOptions,
    "apiBaseUrl" | "buildingId" | "deviceId" | "getAccessToken" | "fetch"
  > {}

export type ClientEvent = { type: "UPGRADE_REQUIRED"; error: HorizonError };

export interface HorizonClient {
  /** The server origin every request is built from. */
  readonly url: string;
  readonly deviceId: string;
  readonly protocolVersion: number;
  readonly auth: Auth;
  /** The storage given to createHorizonClient (optional parts such as uploads keep their state in it). */
  readonly storage: HorizonStorage;
  /** The plain transport (no auth, no retries): for presigned storage URLs, which must get exactly their signed headers. */
  readonly rawFetch: typeof fetch;
  /**
   * Typed REST (openapi-fetch over the generated schema): `api.GET("/api/v1/me")` resolves to
   * `{ data, error, response }`; `error` is the typed problem document. Authenticated,
   * ETag-revalidated, retried as the transport does.
   */
  readonly api: Client<paths>;
  /** Unwraps an `api` call: its data, or a thrown HorizonError carrying the problem's `code`. */
  data<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T>;
  /**
   * Opens offline sync for the signed-in user (its queue in this storage). One instance at a time
   * owns a storage's queue: another gets STORE_LOCKED (or waits `waitForQueueMs`).
   */
  sync(options: SyncOptions): Promise<SyncClient>;
  /** Joins a building's live room; pokes make the open sync client pull. */
  room(buildingId: string, options?: RoomOptions): RealtimeClient;
  on(fn: (event: ClientEvent) => void): () => void;
  /** Stops timers, closes rooms and the sync client (the session stays stored). */
  close(): Promise<void>;
}

function originOf(url: string): string {
  return url.replace(/\/+$/, "").replace(/\/api\/v\d+$/, "");
}

export async function createHorizonClient(options: HorizonClientOptions): Promise<HorizonClient> {
  const url = originOf(options.url);
  const prefix = options.storagePrefix ?? "horizon:";
  const storage = options.storage;
  const listeners = new Set<(e: ClientEvent) => void>();
  const rooms = new Set<RealtimeClient>();
  let syncClient: SyncClient | null = null;
  let auth!: Auth;

  const transport = new Transport(
    { ...(options.fetch ? { fetch: options.fetch } : {}), ...options.retry },
    {
      accessToken: () => auth.getAccessToken(),
      refreshAfter401: () => auth.refreshAfter401(),
      cacheScope: () => auth.user?.id ?? "",
      onUpgradeRequired: (error) => {
        syncClient?.stop();
        for (const fn of listeners) fn({ type: "UPGRADE_REQUIRED", error });
      },
    },
  );
  const json = (method: string, path: string, body?: unknown, token?: string) =>
    transport.send(
      new Request(`${url}/api/v1${path}`, {
        method,
        headers: {
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      }),
    );
  auth = new Auth({
    storage,
    key: `${prefix}session`,
    post: (path, body) => json("POST", path, body),
    getMe: (token) => json("GET", "/me", undefined, token),
    ...(options.autoRefresh !== undefined ? { autoRefresh: options.autoRefresh } : {}),
  });
  await auth.restore();
  auth.onAuthStateChange((e: AuthEvent) => {
    if (e.type === "SIGNED_OUT") {
      transport.clear();
      // The queue belongs to the user who signed out: stop it and give its lease up.
      void syncClient?.close().catch(() => {});
      for (const r of rooms) r.close();
    }
  });

  let deviceId = options.deviceId;
  if (!deviceId) {
    deviceId =
      (await storage.getItem(`${prefix}device`)) ??
      `d-${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
    await storage.setItem(`${prefix}device`, deviceId);
  }

  const api = createClient<paths>({
    baseUrl: url,
    fetch: (req: Request) => transport.send(req, { auth: auth.signedIn }),
  });

  return {
    url,
    deviceId,
    protocolVersion: PROTOCOL_VERSION,
    auth,
    storage,
    rawFetch: options.fetch ?? ((...args) => fetch(...args)),
    api,
    async data<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
      const { data, error, response } = await call;
      if (!response.ok) throw HorizonError.of(response, error);
      return data as T;
    },
    async sync(syncOptions: SyncOptions): Promise<SyncClient> {
      const user = auth.user ?? (await auth.getUser());
      if (syncClient && !syncClient.closed) return syncClient;
      const ns = `${prefix}sync:${user.id}:`;
      const lease = new StorageLease(storage, `${ns}lease`, syncOptions.lease);
      const owned = await lease.acquire(syncOptions.waitForQueueMs ?? 0);
      if (!owned) throw new StoreLockedError();
      const { waitForQueueMs: _w, lease: _l, ...rest } = syncOptions;
      syncClient = await SyncClient.open({
        ...rest,
        baseUrl: `${url}/api/v1`,
        token: () => auth.getAccessToken(),
        fetch: transport.fetchFn({ retries: 0 }),
        store: new KvSyncStore(storage, ns, lease),
        deviceId: deviceId!,
      });
      return syncClient;
    },
    room(buildingId: string, roomOptions: RoomOptions = {}): RealtimeClient {
      const client = connectRealtime({
        // Pokes pull through whichever sync client is open when they arrive.
        sync: { syncNow: () => (syncClient && !syncClient.closed ? syncClient.syncNow() : undefined) },
        ...(options.WebSocket ? { WebSocket: options.WebSocket } : {}),
        ...roomOptions,
        apiBaseUrl: url,
        buildingId,
        deviceId: deviceId!,
        getAccessToken: () => auth.getAccessToken(),
        fetch: transport.fetchFn({ retries: 0 }),
      });
      rooms.add(client);
      return client;
    },
    on(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    async close() {
      auth.close();
      for (const r of rooms) r.close();
      rooms.clear();
      await syncClient?.close();
    },
  };
}
