/**
 * The push sender end to end on PGlite and PostgreSQL: an event recorded on `notifications.push`
 * in a transaction is handed by the real in-process outbox queue to the handler, which sends to
 * every device of the user through the real adapters and their stand-ins (Web Push decrypted, FCM
 * through firebase-admin, APNs over HTTP/2) and keeps the delivery log. A 410 deletes the device;
 * a transient failure is retried by the backbone and the retry skips devices already sent; an open
 * breaker holds its provider without using up the device's attempts.
 */
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import webpush from "web-push";
import { outbox, pushDeliveries, pushDevices } from "../../../src/db/schema";
import { systemContext } from "../../../src/modules/identity/accounts";
import { PUSH_TOPIC, type PushPayload } from "../../../src/modules/notifications/push-contract";
import { recordEvent } from "../../../src/modules/outbox";
import { deliverToUser, PushRetryError } from "../../../src/modules/push/deliver";
import { createApnsProvider } from "../../../src/platform/push/apns";
import { createFcmProvider } from "../../../src/platform/push/fcm";
import { pushServiceFor } from "../../../src/platform/push/select";
import { createWebPushProvider } from "../../../src/platform/push/webpush";
import type { InProcessQueue } from "../../../src/platform/queue/in-process";
import { inTransaction } from "../../../src/verbs";
import { startInProcessQueue } from "../../../workers/outbox-queue";
import { type ApnsStandin, startApnsStandin } from "../../support/apns-standin";
import { createTestApp, type TestApp } from "../../support/app";
import { DB_KINDS } from "../../support/db";
import { type FcmStandin, startFcmStandin } from "../../support/fcm-standin";
import { createUser, json, type TestUser } from "../../support/fixtures";
import { waitFor } from "../../support/wait";
import { startWebPushStandin, type WebPushStandin } from "../../support/webpush-standin";

describe.each(DB_KINDS)("push delivery on %s", (kind) => {
  let t: TestApp;
  let queue: InProcessQueue;
  let wp: WebPushStandin;
  let fcm: FcmStandin;
  let apns: ApnsStandin;
  const vapid = webpush.generateVAPIDKeys();
  const closers: Array<() => Promise<void> | undefined> = [];

  beforeAll(async () => {
    [wp, fcm, apns] = await Promise.all([startWebPushStandin(), startFcmStandin(), startApnsStandin()]);
    t = await createTestApp({
      db: kind,
      env: {
        OUTBOUND_ALLOW_HOSTS: "127.0.0.1",
        VAPID_PUBLIC_KEY: vapid.publicKey,
        VAPID_PRIVATE_KEY: vapid.privateKey,
        OUTBOX_POLL_MS: "200",
      },
    });
    const providers = {
      webpush: createWebPushProvider({
        vapidPublicKey: vapid.publicKey,
        vapidPrivateKey: vapid.privateKey,
        vapidSubject: "mailto:ops@horizon.test",
        policy: { allowHosts: ["127.0.0.1"] },
        ca: wp.ca,
      }),
      fcm: createFcmProvider({
        credential: fcm.credential,
        projectId: "horizon-test",
        httpAgent: fcm.agent(),
      }),
      apns: createApnsProvider({
        keyId: apns.keyId,
        teamId: apns.teamId,
        privateKey: apns.privateKey,
        bundleId: apns.bundleId,
        host: apns.host,
        ca: apns.ca,
      }),
    };
    t.services.push = pushServiceFor(t.services.config, t.services.logger, { providers });
    closers.push(() => t.services.push?.close());
    queue = startInProcessQueue(t.services, { pollMs: 200 });
  });
  afterAll(async () => {
    await queue?.close();
    for (const c of closers) await c();
    await t?.close();
    await Promise.all([wp?.close(), fcm?.close(), apns?.close()]);
  });

  const hex = () => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex");

  /** A user with one device per provider, registered through the API. */
  async function userWithDevices() {
    const user = await createUser(t.services, { locale: "he" });
    const sub = wp.subscribe(vapid.publicKey);
    const fcmToken = `fcm-${crypto.randomUUID()}`;
    const apnsToken = hex();
    const bodies = [
      { platform: "web", provider: "webpush", subscription: { endpoint: sub.endpoint, keys: sub.keys } },
      { platform: "android", provider: "fcm", token: fcmToken },
      { platform: "ios", provider: "apns", token: apnsToken },
    ];
    const ids: Record<string, string> = {};
    for (const body of bodies) {
      const res = await t.request("/api/v1/me/devices", { method: "POST", ...json(body, user.auth) });
      expect(res.status).toBe(201);
      ids[body.provider] = ((await res.json()) as { id: string }).id;
    }
    return { user, sub, fcmToken, apnsToken, ids };
  }

  function payloadFor(user: TestUser, over: Partial<PushPayload> = {}): PushPayload {
    return {
      notificationId: crypto.randomUUID(),
      userId: user.id,
      buildingId: null,
      type: "announcement.published",
      title: "הודעה מהוועד",
      body: "דירה \u206812B\u2069: המים ינותקו מחר",
      locale: "he",
      data: { announcementId: crypto.randomUUID() },
      urgent: false,
      ...over,
    };
  }

  async function record(payload: PushPayload): Promise<string> {
    const ctx = systemContext(t.services, "push-test");
    const { id } = await inTransaction(ctx, (tx) => recordEvent(tx.db, { topic: PUSH_TOPIC, payload }));
    return id;
  }

  async function settled(eventId: string) {
    return waitFor(`outbox event ${eventId} settled`, async () => {
      const [row] = await t.services.database.db.select().from(outbox).where(eq(outbox.id, eventId));
      return row && (row.dispatchedAt || row.deadAt) ? row : null;
    });
  }

  const deliveries = (notificationId: string) =>
    t.services.database.db
      .select()
      .from(pushDeliveries)
      .where(eq(pushDeliveries.notificationId, notificationId));

  it("sends to every device of the user, nobody else's, and logs each delivery as sent", async () => {
    const a = await userWithDevices();
    const other = await userWithDevices();
    const payload = payloadFor(a.user, { urgent: true });
    const row = await settled(await record(payload));
    expect(row.dispatchedAt).not.toBeNull();
    expect(row.attempts).toBe(1);

    const web = wp.received.filter((r) => r.subscriptionId === a.sub.id);
    expect(web).toHaveLength(1);
    const shown = JSON.parse(web[0]!.text);
    expect(shown).toMatchObject({ kind: "notification", title: payload.title, body: payload.body });
    expect(shown.data).toMatchObject({
      ...payload.data,
      notificationId: payload.notificationId,
      type: payload.type,
    });
    expect(fcm.received.filter((r) => r.message.token === a.fcmToken)).toHaveLength(1);
    expect(apns.received.filter((r) => r.token === a.apnsToken)).toHaveLength(1);
    expect(wp.received.some((r) => r.subscriptionId === other.sub.id)).toBe(false);
    expect(fcm.received.some((r) => r.message.token === other.fcmToken)).toBe(false);

    const log = await deliveries(payload.notificationId);
    expect(log).toHaveLength(3);
    for (const d of log) {
      expect(d).toMatchObject({ status: "sent", attempts: 1, userId: a.user.id, error: null });
      expect(d.providerMessageId).toBeTruthy();
      expect(d.sentAt).not.toBeNull();
    }
    expect(new Set(log.map((d) => d.provider))).toEqual(new Set(["webpush", "fcm", "apns"]));
  });

  it("a 410 from the push service deletes that subscription at once; the others still get it", async () => {
    const a = await userWithDevices();
    wp.expire(a.sub.id, 410);
    apns.unregister(a.apnsToken);
    const payload = payloadFor(a.user);
    const row = await settled(await record(payload));
    expect(row.dispatchedAt).not.toBeNull();
    expect(row.attempts).toBe(1);
    const log = await deliveries(payload.notificationId);
    const by = Object.fromEntries(log.map((d) => [d.provider, d]));
    expect(by.webpush).toMatchObject({ status: "failed", attempts: 1 });
    expect(by.webpush!.error).toMatch(/410/);
    expect(by.apns).toMatchObject({ status: "failed" });
    expect(by.apns!.error).toMatch(/Unregistered/);
    expect(by.fcm).toMatchObject({ status: "sent" });
    const left = await t.services.database.db
      .select()
      .from(pushDevices)
      .where(eq(pushDevices.userId, a.user.id));
    expect(left.map((d) => d.provider)).toEqual(["fcm"]);
  });

  it("FCM UNREGISTERED deletes the token", async () => {
    const a = await userWithDevices();
    fcm.unregister(a.fcmToken);
    const payload = payloadFor(a.user);
    await settled(await record(payload));
    const [gone] = await t.services.database.db
      .select()
      .from(pushDevices)
      .where(eq(pushDevices.id, a.ids.fcm!));
    expect(gone).toBeUndefined();
  });

  it("a transient failure is retried by the backbone, and the retry skips devices already sent", async () => {
    const a = await userWithDevices();
    fcm.failNext(500);
    const payload = payloadFor(a.user);
    const row = await settled(await record(payload));
    expect(row.dispatchedAt).not.toBeNull();
    expect(row.attempts).toBe(2);
    expect(wp.received.filter((r) => r.subscriptionId === a.sub.id)).toHaveLength(1);
    expect(apns.received.filter((r) => r.token === a.apnsToken)).toHaveLength(1);
    expect(fcm.received.filter((r) => r.message.token === a.fcmToken)).toHaveLength(1);
    const by = Object.fromEntries((await deliveries(payload.notificationId)).map((d) => [d.provider, d]));
    expect(by.fcm).toMatchObject({ status: "sent", attempts: 2, error: null });
    expect(by.webpush).toMatchObject({ status: "sent", attempts: 1 });
    expect(by.apns).toMatchObject({ status: "sent", attempts: 1 });
  });

  it("the breaker opens after 5 consecutive failures and holds the provider without burning attempts", async () => {
    let now = Date.now();
    const push = pushServiceFor(t.services.config, t.services.logger, {
      providers: {
        fcm: createFcmProvider({
          credential: fcm.credential,
          projectId: "horizon-test",
          httpAgent: fcm.agent(),
        }),
      },
      breaker: { now: () => now },
    });
    closers.push(() => push.close());
    const ctx = { ...systemContext(t.services, "push-breaker-test"), services: { ...t.services, push } };
    const user = await createUser(t.services);
    const token = `fcm-${crypto.randomUUID()}`;
    const [device] = await t.services.database.db
      .insert(pushDevices)
      .values({ userId: user.id, platform: "android", provider: "fcm", token })
      .returning();
    const item = (id = crypto.randomUUID()) => ({
      notificationId: id,
      userId: user.id,
      message: { title: "t", body: "b", data: {}, urgent: false },
    });

    fcm.failNext(500, 500, 500, 500, 500);
    for (let i = 0; i < 5; i++)
      await expect(deliverToUser(ctx, item())).rejects.toBeInstanceOf(PushRetryError);
    expect(push.breakerFor("fcm").state()).toBe("open");

    const held = item();
    const before = fcm.requests();
    for (let i = 0; i < 3; i++) await expect(deliverToUser(ctx, held)).rejects.toThrow(/circuit open/);
    expect(fcm.requests()).toBe(before);
    const [row] = await t.services.database.db
      .select()
      .from(pushDeliveries)
      .where(
        and(eq(pushDeliveries.notificationId, held.notificationId), eq(pushDeliveries.deviceId, device!.id)),
      );
    expect(row).toMatchObject({ status: "failed", attempts: 0 });
    expect(row!.error).toMatch(/circuit open/);

    // 30 s later it lets probes through; three successes close it, and the held one goes out.
    now += 30_000;
    expect(push.breakerFor("fcm").state()).toBe("half-open");
    const report = await deliverToUser(ctx, held);
    expect(report.outcomes).toEqual([expect.objectContaining({ status: "sent" })]);
    await deliverToUser(ctx, item());
    await deliverToUser(ctx, item());
    expect(push.breakerFor("fcm").state()).toBe("closed");
    const [after] = await t.services.database.db
      .select()
      .from(pushDeliveries)
      .where(eq(pushDeliveries.notificationId, held.notificationId));
    expect(after).toMatchObject({ status: "sent", attempts: 1 });
  });

  it("a user without devices is a delivered no-op", async () => {
    const user = await createUser(t.services);
    const row = await settled(await record(payloadFor(user)));
    expect(row.dispatchedAt).not.toBeNull();
  });
});
