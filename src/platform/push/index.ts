/**
 * The push port: one interface over the providers that reach a device (Web Push, FCM, APNs, and
 * the log provider as the embedded default), the typed errors that tell the sender what a failure
 * means, and the per-provider circuit breakers. Edge-safe: the adapters that need Node APIs
 * (web-push, firebase-admin, node:http2) live in their own files, imported only by Node hosts
 * through ./select.ts.
 */
import { type BreakerOptions, type CircuitBreaker, createBreaker } from "../breaker";
import type { HostResolver } from "../net/ssrf";

export type PushProviderName = "fcm" | "apns" | "webpush";

/** What a provider needs of a device row. */
export interface PushDevice {
  id: string;
  provider: PushProviderName;
  platform: "ios" | "android" | "web";
  /** FCM registration token, APNs device token, or the Web Push endpoint URL. */
  token: string;
  /** Web Push subscription keys (base64url). */
  p256dh?: string | null;
  auth?: string | null;
}

/**
 * One message for one device. `silent`: a data-only push that wakes the app for background work
 * (FCM data message; APNs content-available with apns-push-type background; a Web Push payload the
 * service worker handles without showing a notification); title and body are then ignored.
 */
export interface PushMessage {
  title: string;
  body: string;
  /** Strings only (FCM data maps carry nothing else). */
  data: Record<string, string>;
  urgent: boolean;
  silent?: boolean;
  collapseKey?: string;
  ttlSeconds?: number;
}

export interface PushResult {
  /** The provider's id of the accepted message (Web Push: the Location header, FCM: the message name, APNs: apns-id). */
  messageId: string;
}

export interface PushProvider {
  readonly name: PushProviderName | "log";
  /** Rejects with PushPermanentError, PushRejectedError or PushTransientError. */
  send(device: PushDevice, message: PushMessage): Promise<PushResult>;
  close?(): Promise<void>;
}

/** The token is dead (unsubscribed, app uninstalled, wrong token): delete the device, never retry. */
export class PushPermanentError extends Error {
  override name = "PushPermanentError";
  constructor(
    readonly provider: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${provider}: device token is no longer valid (${reason})`, options);
  }
}

/**
 * The provider refused this message (payload too large, malformed): retrying it cannot help, but
 * the device is fine and is kept.
 */
export class PushRejectedError extends Error {
  override name = "PushRejectedError";
  constructor(
    readonly provider: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${provider}: message rejected (${reason})`, options);
  }
}

/** The provider could not take the message now (5xx, 429, network, open breaker): retry later. */
export class PushTransientError extends Error {
  override name = "PushTransientError";
  constructor(
    readonly provider: string,
    readonly reason: string,
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(`${provider}: temporarily unavailable (${reason})`, options);
  }
}

/** Providers a host configured, plus one breaker per provider for the process. */
export interface PushService {
  /** The adapter that sends for `provider`: the configured one, else the log provider. */
  providerFor(provider: PushProviderName): PushProvider;
  breakerFor(provider: PushProviderName): CircuitBreaker;
  /** The Web Push application server key (base64url, uncompressed P-256), served to browsers. */
  vapidPublicKey?: string;
  /**
   * Resolves host names for the SSRF guard of Web Push endpoints (Node hosts); unset (a Worker),
   * an endpoint is checked on its shape and literal address only, and again when sent.
   */
  resolveHost?: HostResolver;
  /**
   * Background sync pokes after writes that move a building's sync version (modules/push/
   * sync-pokes.ts): on with this debounce, off when unset.
   */
  syncPokes?: { debounceMs: number };
  close(): Promise<void>;
}

export interface PushServiceInit {
  providers: Partial<Record<PushProviderName, PushProvider>>;
  /** Sends for every provider that has no adapter. */
  fallback: PushProvider;
  vapidPublicKey?: string;
  resolveHost?: HostResolver;
  syncPokes?: { debounceMs: number };
  breaker?: Omit<BreakerOptions, "name">;
}

export function createPushService(init: PushServiceInit): PushService {
  const breakers = new Map<PushProviderName, CircuitBreaker>();
  return {
    vapidPublicKey: init.vapidPublicKey,
    resolveHost: init.resolveHost,
    syncPokes: init.syncPokes,
    providerFor: (provider) => init.providers[provider] ?? init.fallback,
    breakerFor(provider) {
      let breaker = breakers.get(provider);
      if (!breaker) {
        breaker = createBreaker({ ...init.breaker, name: `push:${provider}` });
        breakers.set(provider, breaker);
      }
      return breaker;
    },
    async close() {
      const all = new Set([...Object.values(init.providers), init.fallback]);
      await Promise.all([...all].map((p) => p?.close?.()));
    },
  };
}

export { fitNotification, PAYLOAD_LIMIT_BYTES, truncateText, utf8Bytes } from "./truncate";
