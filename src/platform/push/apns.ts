/**
 * Apple Push Notification service over HTTP/2 with token authentication: a provider token (ES256
 * JWT, `kid` = APNS_KEY_ID, `iss` = APNS_TEAM_ID, signed with the .p8 key) sent as
 * `authorization: bearer`, cached and renewed after 50 minutes (Apple refuses tokens older than an
 * hour and throttles renewals more often than every 20 minutes). One HTTP/2 session per provider,
 * reopened when Apple or the network closes it. Node-only (node:http2).
 */
import http2 from "node:http2";
import { importPKCS8, SignJWT } from "jose";
import { fitted, retryAfterMs } from "./common";
import {
  type PushDevice,
  type PushMessage,
  PushPermanentError,
  type PushProvider,
  PushRejectedError,
  PushTransientError,
} from "./index";

export const APNS_PRODUCTION = "https://api.push.apple.com";
export const APNS_SANDBOX = "https://api.sandbox.push.apple.com";

export interface ApnsOptions {
  keyId: string;
  teamId: string;
  /** The .p8 key's PEM text (PKCS#8, P-256). */
  privateKey: string;
  /** The app's bundle id: the apns-topic (`.voip` etc. are not used here). */
  bundleId: string;
  /** APNS_PRODUCTION or APNS_SANDBOX (or a stand-in's https origin). */
  host: string;
  /** Extra CA (tests' self-signed stand-in). */
  ca?: string | Buffer;
  timeoutMs?: number;
  now?: () => number;
}

/** Renew the provider token after this (Apple: valid for an hour, renew at most every 20 min). */
export const APNS_TOKEN_MAX_AGE_MS = 50 * 60_000;

/** Reasons (400/403/410 bodies) that mean the token is dead for this app. */
const DEAD_REASONS = new Set(["BadDeviceToken", "Unregistered", "DeviceTokenNotForTopic"]);

const APNS_TOKEN = /^[0-9a-fA-F]{64,200}$/;

export function apnsPayloadText(message: PushMessage, title: string, body: string): string {
  const aps = message.silent ? { "content-available": 1 } : { alert: { title, body }, sound: "default" };
  // Custom keys beside `aps`; `aps` itself is reserved.
  const { aps: _reserved, ...data } = message.data;
  return JSON.stringify({ aps, ...data });
}

export function createApnsProvider(options: ApnsOptions): PushProvider {
  const now = options.now ?? Date.now;
  let token: { jwt: string; issuedAt: number } | undefined;
  let signing: Promise<string> | undefined;
  let session: http2.ClientHttp2Session | undefined;

  const keyPromise = importPKCS8(options.privateKey, "ES256");

  async function providerToken(force = false): Promise<string> {
    if (!force && token && now() - token.issuedAt < APNS_TOKEN_MAX_AGE_MS) return token.jwt;
    signing ??= (async () => {
      const issuedAt = now();
      const jwt = await new SignJWT({ iss: options.teamId, iat: Math.floor(issuedAt / 1000) })
        .setProtectedHeader({ alg: "ES256", kid: options.keyId })
        .sign(await keyPromise);
      token = { jwt, issuedAt };
      return jwt;
    })().finally(() => {
      signing = undefined;
    });
    return signing;
  }

  function connection(): http2.ClientHttp2Session {
    if (session && !session.closed && !session.destroyed) return session;
    const s = http2.connect(options.host, options.ca ? { ca: options.ca } : {});
    s.on("error", () => {
      if (session === s) session = undefined;
    });
    s.on("goaway", () => {
      if (session === s) session = undefined;
    });
    s.on("close", () => {
      if (session === s) session = undefined;
    });
    // An idle session must not keep the process alive.
    s.unref();
    session = s;
    return s;
  }

  function post(path: string, headers: Record<string, string>, body: string) {
    return new Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string }>(
      (resolve, reject) => {
        let req: http2.ClientHttp2Stream;
        try {
          req = connection().request({ ":method": "POST", ":path": path, ...headers });
        } catch (err) {
          reject(err);
          return;
        }
        req.setTimeout(options.timeoutMs ?? 10_000, () => req.close(http2.constants.NGHTTP2_CANCEL));
        let status = 0;
        let resHeaders: http2.IncomingHttpHeaders = {};
        const chunks: Buffer[] = [];
        req.on("response", (h) => {
          status = Number(h[":status"]);
          resHeaders = h;
        });
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () =>
          status
            ? resolve({ status, headers: resHeaders, body: Buffer.concat(chunks).toString("utf8") })
            : reject(new Error("stream closed without a response")),
        );
        req.on("error", reject);
        req.end(body);
      },
    );
  }

  return {
    name: "apns",
    async send(device: PushDevice, message: PushMessage) {
      if (!APNS_TOKEN.test(device.token)) throw new PushPermanentError("apns", "not an APNs device token");
      const { payload } = fitted("apns", message.title, message.body, (t, b) =>
        apnsPayloadText(message, t, b),
      );
      const headers: Record<string, string> = {
        "apns-topic": options.bundleId,
        "apns-push-type": message.silent ? "background" : "alert",
        // Background pushes must be priority 5; alerts are 10 when urgent.
        "apns-priority": message.silent || !message.urgent ? "5" : "10",
        "content-type": "application/json",
        ...(message.ttlSeconds !== undefined
          ? { "apns-expiration": String(Math.floor(now() / 1000) + message.ttlSeconds) }
          : {}),
        ...(message.collapseKey ? { "apns-collapse-id": message.collapseKey.slice(0, 64) } : {}),
      };
      let res: Awaited<ReturnType<typeof post>>;
      for (let attempt = 0; ; attempt++) {
        try {
          res = await post(
            `/3/device/${device.token}`,
            { ...headers, authorization: `bearer ${await providerToken(attempt > 0)}` },
            payload,
          );
        } catch (err) {
          throw new PushTransientError("apns", (err as Error).message, undefined, { cause: err });
        }
        // An expired token is ours to renew, once, at once.
        if (res.status === 403 && attempt === 0 && reasonOf(res.body) === "ExpiredProviderToken") continue;
        break;
      }
      const apnsId = res.headers["apns-id"];
      if (res.status === 200) return { messageId: String(apnsId ?? "") };
      const reason = reasonOf(res.body);
      const why = `${res.status} ${reason}`;
      if (res.status === 410 || DEAD_REASONS.has(reason)) throw new PushPermanentError("apns", why);
      if (res.status === 429 || res.status >= 500) {
        throw new PushTransientError(
          "apns",
          why,
          retryAfterMs(res.headers["retry-after"] as string | undefined),
        );
      }
      // 403 InvalidProviderToken / MissingTopic, 413 PayloadTooLarge, other 400s: not this device's fault.
      throw new PushRejectedError("apns", why);
    },
    async close() {
      session?.close();
      session = undefined;
    },
  };
}

function reasonOf(body: string): string {
  try {
    return String((JSON.parse(body) as { reason?: unknown }).reason ?? "");
  } catch {
    return "";
  }
}
