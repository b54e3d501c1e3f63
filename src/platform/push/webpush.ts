/**
 * Web Push (RFC 8030) with VAPID (RFC 8292) and aes128gcm payload encryption (RFC 8291): the
 * `web-push` library encrypts the payload and signs the VAPID JWT (generateRequestDetails), and
 * the request goes out through the SSRF-guarded transport (platform/net/pinned-fetch.ts): the
 * endpoint is a URL the browser chose, so it must be https and every address it resolves to
 * public, and the socket connects to the address that was checked (no DNS rebinding). Node-only.
 */
import { createHash } from "node:crypto";
import webpush from "web-push";
import { pinnedRequest } from "../net/pinned-fetch";
import { type HostResolver, type OutboundPolicy, OutboundRefused } from "../net/ssrf";
import { fitted, retryAfterMs } from "./common";
import {
  type PushDevice,
  type PushMessage,
  PushPermanentError,
  type PushProvider,
  PushRejectedError,
  PushTransientError,
} from "./index";

/**
 * A push service accepts one aes128gcm record of at most 4096 bytes: a 86-byte header (salt 16,
 * record size 4, key id length 1, key id 65), then the plaintext, its padding delimiter (1) and
 * the GCM tag (16). So 4096 − 86 − 17 bytes of JSON.
 */
export const WEBPUSH_PLAINTEXT_LIMIT = 4096 - 86 - 17;

export interface WebPushOptions {
  vapidPublicKey: string;
  vapidPrivateKey: string;
  /** `mailto:` or `https:` contact the push service may use (RFC 8292 `sub`). */
  vapidSubject: string;
  policy: OutboundPolicy;
  resolve?: HostResolver;
  /** Extra CA for the push service's certificate (tests' self-signed stand-in). */
  ca?: string | Buffer;
  timeoutMs?: number;
}

/** What the service worker receives (decrypted): a notification to show, or a silent data poke. */
export type WebPushPayload =
  | { kind: "notification"; title: string; body: string; data: Record<string, string> }
  | { kind: "data"; data: Record<string, string> };

/** RFC 8030 Topic: at most 32 characters of the base64url alphabet; other keys are hashed into one. */
export function webPushTopic(collapseKey: string): string {
  if (/^[A-Za-z0-9_-]{1,32}$/.test(collapseKey)) return collapseKey;
  return createHash("sha256").update(collapseKey).digest("base64url").slice(0, 32);
}

export function renderWebPush(message: PushMessage): string {
  if (message.silent) {
    const payload: WebPushPayload = { kind: "data", data: message.data };
    const text = JSON.stringify(payload);
    if (Buffer.byteLength(text) > WEBPUSH_PLAINTEXT_LIMIT) {
      throw new PushRejectedError("webpush", "data payload too large");
    }
    return text;
  }
  return fitted(
    "webpush",
    message.title,
    message.body,
    (title, body) =>
      JSON.stringify({ kind: "notification", title, body, data: message.data } satisfies WebPushPayload),
    WEBPUSH_PLAINTEXT_LIMIT,
  ).payload;
}

/** A subscription's keys as RFC 8291 needs them: a 65-byte uncompressed P-256 point, a 16-byte secret. */
function subscriptionKeysValid(p256dh: string, auth: string): boolean {
  const key = Buffer.from(p256dh, "base64url");
  return key.length === 65 && key[0] === 4 && Buffer.from(auth, "base64url").length === 16;
}

export function createWebPushProvider(options: WebPushOptions): PushProvider {
  const vapidDetails = {
    subject: options.vapidSubject,
    publicKey: options.vapidPublicKey,
    privateKey: options.vapidPrivateKey,
  };
  // A bad key pair is the operator's mistake: refuse to start rather than fail (or blame devices) per send.
  try {
    webpush.getVapidHeaders(
      "https://push.example",
      vapidDetails.subject,
      vapidDetails.publicKey,
      vapidDetails.privateKey,
      "aes128gcm",
    );
  } catch (err) {
    throw new Error(`invalid VAPID configuration: ${(err as Error).message}`);
  }
  return {
    name: "webpush",
    async send(device: PushDevice, message: PushMessage) {
      if (!device.p256dh || !device.auth || !subscriptionKeysValid(device.p256dh, device.auth)) {
        throw new PushPermanentError("webpush", "subscription has no valid p256dh/auth keys");
      }
      if (!device.token.startsWith("https://")) {
        throw new PushPermanentError("webpush", "endpoint is not https");
      }
      const payload = renderWebPush(message);
      let details: ReturnType<typeof webpush.generateRequestDetails>;
      try {
        details = webpush.generateRequestDetails(
          { endpoint: device.token, keys: { p256dh: device.p256dh, auth: device.auth } },
          payload,
          {
            vapidDetails,
            TTL: message.ttlSeconds ?? 2_419_200,
            urgency: message.urgent ? "high" : message.silent ? "low" : "normal",
            contentEncoding: "aes128gcm",
            ...(message.collapseKey ? { topic: webPushTopic(message.collapseKey) } : {}),
          },
        );
      } catch (err) {
        // The subscription's keys were checked above: what is left is this message's options.
        throw new PushRejectedError("webpush", `cannot build the request (${(err as Error).message})`, {
          cause: err,
        });
      }
      let res: Awaited<ReturnType<typeof pinnedRequest>>;
      try {
        res = await pinnedRequest(details.endpoint, {
          method: details.method,
          headers: details.headers as Record<string, string>,
          body: details.body ?? undefined,
          policy: options.policy,
          resolve: options.resolve,
          ca: options.ca,
          timeoutMs: options.timeoutMs ?? 10_000,
        });
      } catch (err) {
        if (err instanceof OutboundRefused) {
          // A DNS failure may pass; an endpoint that now points inside our network never will.
          if (err.reason === "unresolvable") {
            throw new PushTransientError("webpush", err.message, undefined, { cause: err });
          }
          throw new PushPermanentError("webpush", `endpoint refused: ${err.message}`, { cause: err });
        }
        throw new PushTransientError("webpush", (err as Error).message, undefined, { cause: err });
      }
      const s = res.status;
      if (s >= 200 && s < 300) {
        const location = res.headers.location;
        return { messageId: (Array.isArray(location) ? location[0] : location) ?? `webpush-${s}` };
      }
      const why = `${s}${res.body ? ` ${res.body.slice(0, 200)}` : ""}`;
      if (s === 404 || s === 410) throw new PushPermanentError("webpush", why);
      if (s === 429 || s >= 500) {
        throw new PushTransientError("webpush", why, retryAfterMs(res.headers["retry-after"]));
      }
      // 400 malformed, 401/403 VAPID refused, 413 too large: this message will not pass; the device stays.
      throw new PushRejectedError("webpush", why);
    },
  };
}
