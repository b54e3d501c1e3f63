/**
 * Each push adapter against a stand-in speaking its provider's protocol, driven by the official
 * library: Web Push (web-push encrypts and signs; the stand-in decrypts RFC 8291 aes128gcm and
 * verifies the VAPID JWT), FCM (firebase-admin against a local FCM v1 API) and APNs (node:http2
 * with an ES256 provider token against an HTTP/2 TLS stand-in). Dead tokens reject with
 * PushPermanentError, outages with PushTransientError, and long texts arrive cut within 4 KB.
 */

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import webpush from "web-push";
import {
  type PushDevice,
  type PushMessage,
  PushPermanentError,
  type PushProvider,
  PushTransientError,
} from "../../../src/platform/push";
import { createApnsProvider } from "../../../src/platform/push/apns";
import { createFcmProvider } from "../../../src/platform/push/fcm";
import { cutUnits } from "../../../src/platform/push/truncate";
import { createWebPushProvider } from "../../../src/platform/push/webpush";
import { type ApnsStandin, startApnsStandin } from "../../support/apns-standin";
import { type FcmStandin, startFcmStandin } from "../../support/fcm-standin";
import { startWebPushStandin, type WebPushStandin } from "../../support/webpush-standin";

const FSI = "\u2068";
const PDI = "\u2069";
/** A localized Hebrew text with LTR fragments isolated, as the notifications module renders them. */
const hebrew = (n: number) =>
  Array.from({ length: n }, (_, i) => `דירה ${FSI}${i}B${PDI} שילמה ${FSI}₪1,250.00${PDI} 🏠`).join(" ");
const balanced = (s: string) => {
  let depth = 0;
  for (const ch of s) {
    if (ch === FSI || ch === "\u2066" || ch === "\u2067") depth++;
    if (ch === PDI && --depth < 0) return false;
  }
  return depth === 0;
};
const message = (over: Partial<PushMessage> = {}): PushMessage => ({
  title: "הודעה חדשה",
  body: `דירה ${FSI}12B${PDI}: המים ינותקו מחר`,
  data: { type: "announcement.published", announcementId: "a1" },
  urgent: false,
  ...over,
});

describe("Web Push against a decrypting push service", () => {
  let standin: WebPushStandin;
  let provider: PushProvider;
  const vapid = webpush.generateVAPIDKeys();
  const device = (sub: ReturnType<WebPushStandin["subscribe"]>): PushDevice => ({
    id: sub.id,
    provider: "webpush",
    platform: "web",
    token: sub.endpoint,
    p256dh: sub.keys.p256dh,
    auth: sub.keys.auth,
  });

  beforeAll(async () => {
    standin = await startWebPushStandin();
    provider = createWebPushProvider({
      vapidPublicKey: vapid.publicKey,
      vapidPrivateKey: vapid.privateKey,
      vapidSubject: "mailto:ops@horizon.test",
      // The stand-in is on loopback: the operator allowlist lets it through (nothing else).
      policy: { allowHosts: ["127.0.0.1"] },
      ca: standin.ca,
    });
  });
  afterAll(async () => standin?.close());

  it("delivers an encrypted notification the subscription decrypts, with a valid VAPID JWT", async () => {
    const sub = standin.subscribe(vapid.publicKey);
    const sent = message({ urgent: true, collapseKey: "announcement-42", ttlSeconds: 600 });
    const { messageId } = await provider.send(device(sub), sent);
    expect(messageId).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/message\//);
    const got = standin.received.find((r) => r.subscriptionId === sub.id)!;
    expect(JSON.parse(got.text)).toEqual({
      kind: "notification",
      title: sent.title,
      body: sent.body,
      data: sent.data,
    });
    expect(got.claims.aud).toBe(standin.origin);
    expect(got.claims.sub).toBe("mailto:ops@horizon.test");
    expect(got.headers).toMatchObject({ ttl: "600", urgency: "high", topic: "announcement-42" });
  });

  it("a silent push carries only data (a sync poke the service worker handles quietly)", async () => {
    const sub = standin.subscribe(vapid.publicKey);
    await provider.send(
      device(sub),
      message({ silent: true, data: { type: "sync-poke", buildingId: "b1" } }),
    );
    const got = standin.received.find((r) => r.subscriptionId === sub.id)!;
    expect(JSON.parse(got.text)).toEqual({ kind: "data", data: { type: "sync-poke", buildingId: "b1" } });
    expect(got.headers.urgency).toBe("low");
  });

  it("cuts a long Hebrew body to fit one 4 KB record, on a unit boundary with isolates balanced", async () => {
    const sub = standin.subscribe(vapid.publicKey);
    const body = hebrew(200);
    await provider.send(device(sub), message({ body }));
    const got = standin.received.find((r) => r.subscriptionId === sub.id)!;
    expect(Number(got.headers["content-length"])).toBeLessThanOrEqual(4096);
    const shown = (JSON.parse(got.text) as { body: string }).body;
    expect(shown.endsWith("…")).toBe(true);
    const kept = shown.slice(0, -1);
    expect(body.startsWith(kept)).toBe(true);
    expect(balanced(kept)).toBe(true);
    expect(cutUnits(body).join("").startsWith(kept)).toBe(true);
    expect(shown).not.toMatch(/[\uD800-\uDBFF]$/);
  });

  it("410 and 404 from the push service are permanent (the subscription is gone)", async () => {
    for (const status of [410, 404] as const) {
      const sub = standin.subscribe(vapid.publicKey);
      standin.expire(sub.id, status);
      await expect(provider.send(device(sub), message())).rejects.toBeInstanceOf(PushPermanentError);
    }
  });

  it("429 and 5xx are transient", async () => {
    const sub = standin.subscribe(vapid.publicKey);
    standin.failNext(503, 429);
    await expect(provider.send(device(sub), message())).rejects.toBeInstanceOf(PushTransientError);
    const err = await provider.send(device(sub), message()).catch((e) => e);
    expect(err).toBeInstanceOf(PushTransientError);
    expect((err as PushTransientError).retryAfterMs).toBe(1000);
  });

  it("a subscription with malformed keys is dead; a bad VAPID key pair refuses to start", async () => {
    const sub = standin.subscribe(vapid.publicKey);
    const broken = { ...device(sub), p256dh: Buffer.alloc(65, 1).toString("base64url") };
    await expect(provider.send(broken, message())).rejects.toBeInstanceOf(PushPermanentError);
    expect(() =>
      createWebPushProvider({
        vapidPublicKey: vapid.publicKey,
        vapidPrivateKey: "too-short",
        vapidSubject: "mailto:ops@horizon.test",
        policy: { allowHosts: [] },
      }),
    ).toThrow(/invalid VAPID configuration/);
  });

  it("refuses at send time an endpoint on loopback when the operator did not allow it", async () => {
    const strict = createWebPushProvider({
      vapidPublicKey: vapid.publicKey,
      vapidPrivateKey: vapid.privateKey,
      vapidSubject: "mailto:ops@horizon.test",
      policy: { allowHosts: [] },
      ca: standin.ca,
    });
    const sub = standin.subscribe(vapid.publicKey);
    const before = standin.requests();
    const err = await strict.send(device(sub), message()).catch((e) => e);
    expect(err).toBeInstanceOf(PushPermanentError);
    expect(String(err.message)).toMatch(/refused/);
    expect(standin.requests()).toBe(before);
  });
});

describe("FCM through firebase-admin against an FCM v1 stand-in", () => {
  let standin: FcmStandin;
  let provider: PushProvider;
  const token = () => `fcm-${crypto.randomUUID()}`;
  const device = (t: string, platform: "android" | "ios" = "android"): PushDevice => ({
    id: t,
    provider: "fcm",
    platform,
    token: t,
  });

  beforeAll(async () => {
    standin = await startFcmStandin();
    provider = createFcmProvider({
      credential: standin.credential,
      projectId: "horizon-test",
      httpAgent: standin.agent(),
    });
  });
  afterAll(async () => {
    await provider?.close?.();
    await standin?.close();
  });

  it("sends a notification message and answers the message name", async () => {
    const t = token();
    const { messageId } = await provider.send(
      device(t),
      message({ urgent: true, collapseKey: "ann-1", ttlSeconds: 60 }),
    );
    expect(messageId).toMatch(/^projects\/horizon-test\/messages\//);
    const got = standin.received.find((r) => r.message.token === t)!;
    expect(got.message.notification).toEqual({ title: message().title, body: message().body });
    expect(got.message.data).toEqual(message().data);
    expect(got.message.android).toMatchObject({ priority: "high", collapse_key: "ann-1", ttl: "60s" });
    expect(got.message.apns.headers).toMatchObject({ "apns-push-type": "alert", "apns-priority": "10" });
  });

  it("a silent push is a data message with content-available for iOS", async () => {
    const t = token();
    await provider.send(
      device(t, "ios"),
      message({ silent: true, data: { type: "sync-poke", buildingId: "b" } }),
    );
    const got = standin.received.find((r) => r.message.token === t)!;
    expect(got.message.notification).toBeUndefined();
    expect(got.message.data).toEqual({ type: "sync-poke", buildingId: "b" });
    expect(got.message.apns.headers).toMatchObject({ "apns-push-type": "background", "apns-priority": "5" });
    expect(got.message.apns.payload.aps["content-available"]).toBe(1);
  });

  it("drops data keys FCM reserves instead of losing the whole message", async () => {
    const t = token();
    await provider.send(device(t), message({ data: { from: "x", "google.c": "y", gcm_id: "z", kept: "1" } }));
    const got = standin.received.find((r) => r.message.token === t)!;
    expect(got.message.data).toEqual({ kept: "1" });
  });

  it("UNREGISTERED is permanent; INTERNAL is transient", async () => {
    const t = token();
    standin.unregister(t);
    const dead = await provider.send(device(t), message()).catch((e) => e);
    expect(dead).toBeInstanceOf(PushPermanentError);
    expect(dead.message).toContain("registration-token-not-registered");
    // (firebase-admin itself retries 503 with backoff; a 500 reaches us at once.)
    standin.failNext(500);
    await expect(provider.send(device(token()), message())).rejects.toBeInstanceOf(PushTransientError);
  });

  it("cuts a long body so notification + data stay within 4 KB", async () => {
    const t = token();
    await provider.send(device(t), message({ body: hebrew(300) }));
    const got = standin.received.find((r) => r.message.token === t)!;
    const size = Buffer.byteLength(
      JSON.stringify({ notification: got.message.notification, data: got.message.data }),
    );
    expect(size).toBeLessThanOrEqual(4096);
    expect(balanced(got.message.notification.body)).toBe(true);
  });
});

describe("APNs over HTTP/2 with token auth against a stand-in", () => {
  let standin: ApnsStandin;
  let provider: PushProvider;
  const hex = () => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex");
  const device = (t: string): PushDevice => ({ id: t, provider: "apns", platform: "ios", token: t });

  beforeAll(async () => {
    standin = await startApnsStandin();
    provider = createApnsProvider({
      keyId: standin.keyId,
      teamId: standin.teamId,
      privateKey: standin.privateKey,
      bundleId: standin.bundleId,
      host: standin.host,
      ca: standin.ca,
    });
  });
  afterAll(async () => {
    await provider?.close?.();
    await standin?.close();
  });

  it("sends an alert with the right headers, answers the apns-id, reuses one provider token", async () => {
    const t = hex();
    const { messageId } = await provider.send(device(t), message({ urgent: true, collapseKey: "ann-7" }));
    expect(messageId).toMatch(/^[0-9A-F-]{36}$/);
    await provider.send(device(hex()), message());
    const got = standin.received.find((r) => r.token === t)!;
    expect(got.headers).toMatchObject({
      "apns-topic": standin.bundleId,
      "apns-push-type": "alert",
      "apns-priority": "10",
      "apns-collapse-id": "ann-7",
    });
    expect(got.payload.aps.alert).toEqual({ title: message().title, body: message().body });
    expect(got.payload.type).toBe("announcement.published");
    expect(standin.providerTokens()).toBe(1);
  });

  it("renews the provider token after 50 minutes, and at once when APNs says it expired", async () => {
    let now = Date.now();
    const timed = createApnsProvider({
      keyId: standin.keyId,
      teamId: standin.teamId,
      privateKey: standin.privateKey,
      bundleId: standin.bundleId,
      host: standin.host,
      ca: standin.ca,
      now: () => now,
    });
    const before = standin.providerTokens();
    await timed.send(device(hex()), message());
    now += 49 * 60_000;
    await timed.send(device(hex()), message());
    expect(standin.providerTokens()).toBe(before + 1);
    now += 2 * 60_000;
    // (iat moves by whole seconds: the renewed token differs from the first one.)
    await timed.send(device(hex()), message());
    expect(standin.providerTokens()).toBe(before + 2);
    standin.failNext({ status: 403, reason: "ExpiredProviderToken" });
    now += 1000;
    const t = hex();
    await timed.send(device(t), message());
    expect(standin.received.some((r) => r.token === t)).toBe(true);
    expect(standin.providerTokens()).toBe(before + 3);
    await timed.close?.();
  });

  it("a silent push is background, priority 5, content-available", async () => {
    const t = hex();
    await provider.send(device(t), message({ silent: true, urgent: true, data: { type: "sync-poke" } }));
    const got = standin.received.find((r) => r.token === t)!;
    expect(got.headers).toMatchObject({ "apns-push-type": "background", "apns-priority": "5" });
    expect(got.payload.aps).toEqual({ "content-available": 1 });
  });

  it("410 Unregistered and 400 BadDeviceToken are permanent; 503 is transient", async () => {
    const t = hex();
    standin.unregister(t);
    await expect(provider.send(device(t), message())).rejects.toBeInstanceOf(PushPermanentError);
    await expect(provider.send(device(`${hex()}ab`), message())).rejects.toBeInstanceOf(PushPermanentError);
    standin.failNext({ status: 503, reason: "ServiceUnavailable" });
    await expect(provider.send(device(hex()), message())).rejects.toBeInstanceOf(PushTransientError);
  });

  it("cuts a long body to a payload within 4 KB", async () => {
    const t = hex();
    await provider.send(device(t), message({ body: hebrew(300) }));
    const got = standin.received.find((r) => r.token === t)!;
    expect(got.bytes).toBeLessThanOrEqual(4096);
    expect(balanced(got.payload.aps.alert.body)).toBe(true);
  });
});
