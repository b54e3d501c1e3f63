/**
 * The device routes through the real app on PGlite and PostgreSQL: registration (201, then 200 on
 * refresh), a token registered by another user moves to them, ownership of list and delete, the
 * VAPID key route, and bad input answered as 400 problem+json (non-https and internal Web Push
 * endpoints, unknown time zones, oversized tokens, malformed subscription keys).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import webpush from "web-push";
import { createTestApp, type TestApp } from "../../support/app";
import { DB_KINDS } from "../../support/db";
import { createUser, json, type TestUser } from "../../support/fixtures";

// A real subscription key pair's shapes: 65-byte uncompressed P-256 point, 16-byte auth secret.
const P256DH = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 7)]).toString("base64url");
const AUTH = Buffer.alloc(16, 9).toString("base64url");
const subscription = (endpoint: string) => ({ endpoint, keys: { p256dh: P256DH, auth: AUTH } });
const VAPID = webpush.generateVAPIDKeys();

describe.each(DB_KINDS)("push devices on %s", (kind) => {
  let t: TestApp;
  let ann: TestUser;
  let bob: TestUser;
  const fcm = (token: string, extra: Record<string, unknown> = {}) => ({
    platform: "android",
    provider: "fcm",
    token,
    ...extra,
  });
  const post = (user: TestUser, body: unknown) =>
    t.request("/api/v1/me/devices", { method: "POST", ...json(body, user.auth) });
  const list = async (user: TestUser) => {
    const res = await t.request("/api/v1/me/devices", { headers: user.auth });
    expect(res.status).toBe(200);
    return ((await res.json()) as { items: Array<Record<string, unknown>> }).items;
  };

  beforeAll(async () => {
    t = await createTestApp({
      db: kind,
      env: { VAPID_PUBLIC_KEY: VAPID.publicKey, VAPID_PRIVATE_KEY: VAPID.privateKey },
    });
    ann = await createUser(t.services, { locale: "he" });
    bob = await createUser(t.services);
  });
  afterAll(async () => t?.close());

  it("registers a device (201 with the profile's locale), refreshes it (200), lists it", async () => {
    const token = `fcm-${crypto.randomUUID()}`;
    const first = await post(ann, fcm(token, { appVersion: "2.4.1" }));
    expect(first.status).toBe(201);
    const device = (await first.json()) as Record<string, unknown>;
    expect(device).toMatchObject({
      platform: "android",
      provider: "fcm",
      token,
      locale: "he",
      timezone: "UTC",
    });
    expect(first.headers.get("location")).toBe(`/api/v1/me/devices/${device.id}`);

    const again = await post(ann, fcm(token, { timezone: "asia/jerusalem", locale: "he-il" }));
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ id: device.id, timezone: "Asia/Jerusalem", locale: "he-IL" });
    expect((await list(ann)).map((d) => d.id)).toContain(device.id);
  });

  it("a token registered by another user moves to them: nobody keeps another user's device", async () => {
    const token = `fcm-${crypto.randomUUID()}`;
    const a = (await (await post(ann, fcm(token))).json()) as { id: string };
    const moved = await post(bob, fcm(token));
    expect(moved.status).toBe(200);
    expect(((await moved.json()) as { id: string }).id).toBe(a.id);
    expect((await list(ann)).map((d) => d.id)).not.toContain(a.id);
    expect((await list(bob)).map((d) => d.id)).toContain(a.id);
    // Ann can no longer delete it; Bob can.
    const annDelete = await t.request(`/api/v1/me/devices/${a.id}`, { method: "DELETE", headers: ann.auth });
    expect(annDelete.status).toBe(404);
    expect(annDelete.headers.get("content-type")).toContain("application/problem+json");
    const bobDelete = await t.request(`/api/v1/me/devices/${a.id}`, { method: "DELETE", headers: bob.auth });
    expect(bobDelete.status).toBe(204);
    expect((await list(bob)).map((d) => d.id)).not.toContain(a.id);
  });

  it("the same token string under another provider is another device", async () => {
    const token = "a".repeat(64);
    const f = (await (await post(ann, fcm(token, { platform: "ios" }))).json()) as { id: string };
    const res = await post(ann, { platform: "ios", provider: "apns", token });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { id: string }).id).not.toBe(f.id);
  });

  it("registers a Web Push subscription with a public https endpoint", async () => {
    const endpoint = `https://203.0.113.10/push/${crypto.randomUUID()}`.replace("203.0.113.10", "8.8.8.8");
    const res = await post(ann, {
      platform: "web",
      provider: "webpush",
      subscription: subscription(endpoint),
    });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ provider: "webpush", token: endpoint });
  });

  it.each([
    [
      "a non-https endpoint",
      { platform: "web", provider: "webpush", subscription: subscription("http://8.8.8.8/p") },
    ],
    [
      "a loopback endpoint",
      { platform: "web", provider: "webpush", subscription: subscription("https://127.0.0.1/p") },
    ],
    [
      "an IPv6 loopback endpoint",
      { platform: "web", provider: "webpush", subscription: subscription("https://[::1]/p") },
    ],
    [
      "a private endpoint",
      { platform: "web", provider: "webpush", subscription: subscription("https://10.1.2.3/p") },
    ],
    [
      "the metadata address",
      { platform: "web", provider: "webpush", subscription: subscription("https://169.254.169.254/latest") },
    ],
    [
      "a mapped v4 loopback",
      { platform: "web", provider: "webpush", subscription: subscription("https://[::ffff:127.0.0.1]/p") },
    ],
    [
      "a name resolving to loopback",
      { platform: "web", provider: "webpush", subscription: subscription("https://localhost/p") },
    ],
    ["a bad time zone", fcm("tok-tz", { timezone: "Mars/Olympus_Mons" })],
    ["a huge token", fcm("x".repeat(5000))],
    ["a token with spaces", fcm("has space")],
    ["a bad locale", fcm("tok-locale", { locale: "not a locale" })],
    ["an apns token that is not hex", { platform: "ios", provider: "apns", token: "zz" }],
    ["apns on android", { platform: "android", provider: "apns", token: "a".repeat(64) }],
    ["webpush without a subscription", { platform: "web", provider: "webpush", token: "t" }],
    [
      "a short p256dh",
      {
        platform: "web",
        provider: "webpush",
        subscription: { endpoint: "https://8.8.8.8/p", keys: { p256dh: "BAAA", auth: AUTH } },
      },
    ],
    ["an unknown field", fcm("tok-extra", { buildingId: crypto.randomUUID() })],
  ])("refuses %s with 400 problem+json", async (_what, body) => {
    const res = await post(ann, body);
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    const problem = (await res.json()) as { code: string; correlationId?: string };
    expect(["VALIDATION_FAILED", "BAD_REQUEST", "UNKNOWN_FIELDS"]).toContain(problem.code);
    expect(problem.correlationId).toBeTruthy();
  });

  it("deleting a device that does not exist is 404; an unauthenticated call is 401", async () => {
    const res = await t.request(`/api/v1/me/devices/${crypto.randomUUID()}`, {
      method: "DELETE",
      headers: ann.auth,
    });
    expect(res.status).toBe(404);
    expect((await t.request("/api/v1/me/devices")).status).toBe(401);
  });

  it("serves the VAPID public key without authentication", async () => {
    const res = await t.request("/api/v1/push/vapid-public-key");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ publicKey: VAPID.publicKey });
  });
});
