/**
 * Firebase Cloud Messaging (HTTP v1 API) through `firebase-admin`: Android devices, and iOS apps
 * that register through FCM. Credentials are a service account (FCM_SERVICE_ACCOUNT, the JSON Google
 * issues); each provider gets its own named Firebase app, so tests and hosts never share global
 * state. Single sends (`send`) use HTTP/1.1 through `httpAgent`, which is also how tests reach a
 * local FCM stand-in. Node-only.
 */

import { createPrivateKey } from "node:crypto";
import type { Agent } from "node:http";
import type { App, Credential } from "firebase-admin/app";
import type { Message, Messaging } from "firebase-admin/messaging";
import { loadOnce } from "../load-once";
import { fitted } from "./common";
import {
  type PushDevice,
  type PushMessage,
  PushPermanentError,
  type PushProvider,
  PushRejectedError,
  PushTransientError,
} from "./index";

export interface FcmOptions {
  /** The service account JSON (parsed). */
  serviceAccount?: { project_id?: string; client_email?: string; private_key?: string };
  /** Instead of a service account (tests): any credential that hands out access tokens. */
  credential?: Credential;
  projectId?: string;
  httpAgent?: Agent;
}

/** The token is gone: FCM answered UNREGISTERED (404) or INVALID_ARGUMENT for the token itself. */
const DEAD_TOKEN = new Set([
  "messaging/registration-token-not-registered",
  "messaging/invalid-registration-token",
]);
/** This message cannot pass as it is; retrying it will not help, the device is fine. */
const REJECTED = new Set([
  "messaging/invalid-argument",
  "messaging/invalid-payload",
  "messaging/payload-size-limit-exceeded",
  "messaging/invalid-data-payload-key",
  "messaging/mismatched-credential",
  "messaging/third-party-auth-error",
  "messaging/invalid-apns-credentials",
]);

let appSeq = 0;

/** FCM refuses the whole message for these data keys (reserved words, `google`/`gcm` prefixes): drop them. */
export function fcmData(data: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) {
    if (k === "from" || k === "message_type" || k === "notification" || /^(google|gcm)/i.test(k)) continue;
    out[k] = v;
  }
  return out;
}

/** The v1 message for one token (exported for the payload-size test). */
export function fcmMessage(device: PushDevice, message: PushMessage, title: string, body: string): Message {
  const ttl = message.ttlSeconds === undefined ? undefined : message.ttlSeconds * 1000;
  const expiration =
    message.ttlSeconds === undefined ? undefined : String(Math.floor(Date.now() / 1000) + message.ttlSeconds);
  const apnsHeaders: Record<string, string> = {
    "apns-push-type": message.silent ? "background" : "alert",
    // Apple refuses priority 10 for background pushes.
    "apns-priority": message.silent ? "5" : message.urgent ? "10" : "5",
    ...(expiration ? { "apns-expiration": expiration } : {}),
    ...(message.collapseKey ? { "apns-collapse-id": message.collapseKey } : {}),
  };
  return {
    token: device.token,
    data: fcmData(message.data),
    ...(message.silent ? {} : { notification: { title, body } }),
    android: {
      priority: message.urgent ? "high" : "normal",
      ...(ttl !== undefined ? { ttl } : {}),
      ...(message.collapseKey ? { collapseKey: message.collapseKey } : {}),
    },
    apns: {
      headers: apnsHeaders,
      payload: { aps: message.silent ? { contentAvailable: true } : {} },
    },
  };
}

/** What FCM counts against its 4 KB: the notification and the data map. */
export function fcmPayloadText(message: PushMessage, title: string, body: string): string {
  return JSON.stringify({
    ...(message.silent ? {} : { notification: { title, body } }),
    data: fcmData(message.data),
  });
}

/**
 * firebase-admin (~60 ms of module loading, ~130 modules with google-auth) is loaded by the first
 * send, not by every start of a host that has FCM configured. The service account is checked here
 * as firebase-admin's `cert` checks it (the three fields, a private key that parses), so a
 * malformed FCM_SERVICE_ACCOUNT still fails the host's start.
 */
export function createFcmProvider(options: FcmOptions): PushProvider {
  const account = options.serviceAccount;
  if (!options.credential) {
    if (!account) throw new Error("FCM needs a service account or a credential");
    for (const field of ["project_id", "client_email", "private_key"] as const) {
      if (typeof account[field] !== "string" || !account[field])
        throw new Error(`FCM service account: ${field} must be a non-empty string`);
    }
    try {
      createPrivateKey(account.private_key as string);
    } catch (err) {
      throw new Error(`FCM service account: private_key does not parse (${(err as Error).message})`);
    }
  }
  const name = `horizon-push-fcm-${++appSeq}`;
  // A failed start is tried again by the next send (that one fails as a transient error, retried).
  const client = loadOnce(async (): Promise<{ app: App; messaging: Messaging }> => {
    const [{ cert, initializeApp }, { getMessaging }] = await Promise.all([
      import("firebase-admin/app"),
      import("firebase-admin/messaging"),
    ]);
    const credential =
      options.credential ??
      cert({
        projectId: account?.project_id,
        clientEmail: account?.client_email,
        privateKey: account?.private_key,
      });
    const app = initializeApp(
      {
        credential,
        projectId: options.projectId ?? account?.project_id,
        ...(options.httpAgent ? { httpAgent: options.httpAgent } : {}),
      },
      name,
    );
    return { app, messaging: getMessaging(app) };
  });
  return {
    name: "fcm",
    async send(device: PushDevice, message: PushMessage) {
      const { title, body } = fitted("fcm", message.title, message.body, (t, b) =>
        fcmPayloadText(message, t, b),
      );
      try {
        const { messaging } = await client();
        const messageId = await messaging.send(fcmMessage(device, message, title, body));
        return { messageId };
      } catch (err) {
        const code = (err as { code?: string }).code ?? "";
        const why = `${code || "error"}: ${(err as Error).message}`;
        if (DEAD_TOKEN.has(code)) throw new PushPermanentError("fcm", why, { cause: err });
        if (REJECTED.has(code)) throw new PushRejectedError("fcm", why, { cause: err });
        throw new PushTransientError("fcm", why, undefined, { cause: err });
      }
    },
    async close() {
      const loaded = await client.started?.catch(() => undefined);
      if (!loaded) return;
      const { deleteApp } = await import("firebase-admin/app");
      await deleteApp(loaded.app);
    },
  };
}
