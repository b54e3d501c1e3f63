/**
 * The "done when", delivery side, on PGlite and PostgreSQL: a Hebrew-speaking resident of
 * a building registers a Web Push subscription through the API; the manager posts an announcement;
 * the notifications module decides and renders it, the outbox hands it to the push sender, and the
 * push-service stand-in decrypts what the resident's browser would show: Hebrew, with the
 * building's name wrapped in a bidi isolate. Then the push service answers 410 and the next
 * announcement removes the subscription.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import webpush from "web-push";
import { pushDeliveries, pushDevices, users } from "../../../src/db/schema";
import { pushServiceFor } from "../../../src/platform/push/select";
import { createWebPushProvider } from "../../../src/platform/push/webpush";
import type { InProcessQueue } from "../../../src/platform/queue/in-process";
import { startInProcessQueue } from "../../../workers/outbox-queue";
import { createTestApp, type TestApp } from "../../support/app";
import { DB_KINDS } from "../../support/db";
import { createBuilding, json } from "../../support/fixtures";
import { waitFor } from "../../support/wait";
import { startWebPushStandin, type WebPushStandin } from "../../support/webpush-standin";

const FSI = "\u2068";
const PDI = "\u2069";

describe.each(DB_KINDS)("an announcement reaches a Web Push subscription on %s", (kind) => {
  let t: TestApp;
  let wp: WebPushStandin;
  let queue: InProcessQueue;
  const vapid = webpush.generateVAPIDKeys();

  beforeAll(async () => {
    wp = await startWebPushStandin();
    t = await createTestApp({
      db: kind,
      env: {
        OUTBOUND_ALLOW_HOSTS: "127.0.0.1",
        VAPID_PUBLIC_KEY: vapid.publicKey,
        VAPID_PRIVATE_KEY: vapid.privateKey,
      },
    });
    t.services.push = pushServiceFor(t.services.config, t.services.logger, {
      providers: {
        webpush: createWebPushProvider({
          vapidPublicKey: vapid.publicKey,
          vapidPrivateKey: vapid.privateKey,
          vapidSubject: "mailto:ops@horizon.test",
          policy: { allowHosts: ["127.0.0.1"] },
          ca: wp.ca,
        }),
      },
      syncPokes: null,
    });
    queue = startInProcessQueue(t.services, { pollMs: 200 });
  });
  afterAll(async () => {
    await queue?.close();
    await t?.services.push?.close();
    await t?.close();
    await wp?.close();
  });

  it("decrypts to the Hebrew notice with isolates; a 410 then removes the subscription", async () => {
    const b = await createBuilding(t.services, "מגדלי הים 12B");
    await t.services.database.db
      .update(users)
      .set({ locale: "he", timezone: "Asia/Jerusalem" })
      .where(eq(users.id, b.resident.id));
    // The browser: the app server key from the API, a subscription, registered as a device.
    const key = (await (await t.request("/api/v1/push/vapid-public-key")).json()) as { publicKey: string };
    const sub = wp.subscribe(key.publicKey);
    const reg = await t.request("/api/v1/me/devices", {
      method: "POST",
      ...json(
        { platform: "web", provider: "webpush", subscription: { endpoint: sub.endpoint, keys: sub.keys } },
        b.resident.auth,
      ),
    });
    expect(reg.status).toBe(201);
    const device = (await reg.json()) as { id: string; locale: string };
    expect(device.locale).toBe("he");

    const posted = await t.request(`/api/v1/buildings/${b.id}/announcements`, {
      method: "POST",
      ...json({ title: "המים ינותקו מחר", body: "בין 10 ל-12" }, b.manager.auth),
    });
    expect(posted.status).toBe(201);
    const announcement = (await posted.json()) as { id: string };

    const got = await waitFor("the resident's push", () =>
      wp.received.find((r) => r.subscriptionId === sub.id && r.text.includes(announcement.id)),
    );
    const shown = JSON.parse(got.text) as {
      kind: string;
      title: string;
      body: string;
      data: Record<string, string>;
    };
    expect(shown.kind).toBe("notification");
    expect(shown.title).toContain(`${FSI}מגדלי הים 12B${PDI}`);
    expect(shown.title).toMatch(/[\u05d0-\u05ea]/);
    expect(shown.data).toMatchObject({ announcementId: announcement.id, buildingId: b.id });
    expect(got.claims.aud).toBe(wp.origin);
    // The push service answered before the sender wrote it down: wait for the log row.
    const log = await waitFor("the delivery logged as sent", async () => {
      const [row] = await t.services.database.db
        .select()
        .from(pushDeliveries)
        .where(eq(pushDeliveries.notificationId, shown.data.notificationId!));
      return row?.status === "sent" ? row : null;
    });
    expect(log).toMatchObject({ deviceId: device.id, provider: "webpush", attempts: 1 });
    expect(log.providerMessageId).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/message\//);

    // The user unsubscribes in the browser: the push service forgets the endpoint.
    wp.expire(sub.id, 410);
    const again = await t.request(`/api/v1/buildings/${b.id}/announcements`, {
      method: "POST",
      ...json({ title: "עדכון", body: "המים חזרו" }, b.manager.auth),
    });
    expect(again.status).toBe(201);
    await waitFor("the dead subscription removed", async () => {
      const rows = await t.services.database.db
        .select()
        .from(pushDevices)
        .where(eq(pushDevices.id, device.id));
      return rows.length === 0;
    });
    const list = (await (await t.request("/api/v1/me/devices", { headers: b.resident.auth })).json()) as {
      items: unknown[];
    };
    expect(list.items).toEqual([]);
  });
});
