/**
 * Background sync pokes on PGlite and PostgreSQL: a sync push that commits in a building makes
 * one silent push per member who has a device and is not live in the building's room, after the
 * debounce window, through the outbox and the FCM stand-in (a data message with content-available
 * for iOS). The pusher's live neighbour gets none (the room pokes them), and a burst of pushes
 * makes one round.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outbox, pushDevices } from "../../../src/db/schema";
import { SYNC_POKE_TOPIC } from "../../../src/modules/notifications/push-contract";
import { flushSyncPokes } from "../../../src/modules/push/sync-pokes";
import { presenceOf } from "../../../src/modules/realtime/presence";
import { createFcmProvider } from "../../../src/platform/push/fcm";
import { pushServiceFor } from "../../../src/platform/push/select";
import type { InProcessQueue } from "../../../src/platform/queue/in-process";
import { startInProcessQueue } from "../../../workers/outbox-queue";
import { createTestApp, type TestApp } from "../../support/app";
import { DB_KINDS } from "../../support/db";
import { type FcmStandin, startFcmStandin } from "../../support/fcm-standin";
import { createBuilding } from "../../support/fixtures";
import { waitFor } from "../../support/wait";
import { hlcAt, opId, push } from "../sync/helpers";

describe.each(DB_KINDS)("sync pokes on %s", (kind) => {
  let t: TestApp;
  let fcm: FcmStandin;
  let queue: InProcessQueue;

  beforeAll(async () => {
    fcm = await startFcmStandin();
    t = await createTestApp({ db: kind });
    t.services.push = pushServiceFor(t.services.config, t.services.logger, {
      providers: {
        fcm: createFcmProvider({
          credential: fcm.credential,
          projectId: "horizon-test",
          httpAgent: fcm.agent(),
        }),
      },
      // Long enough that the test decides when a round runs (flushSyncPokes).
      syncPokes: { debounceMs: 60_000 },
    });
    queue = startInProcessQueue(t.services, { pollMs: 200 });
  });
  afterAll(async () => {
    await queue?.close();
    await t?.services.push?.close();
    await t?.close();
    await fcm?.close();
  });

  it("pokes members with devices who are not live in the room, once per burst", async () => {
    const b = await createBuilding(t.services);
    const tokens = { resident: `fcm-${crypto.randomUUID()}`, neighbour: `fcm-${crypto.randomUUID()}` };
    await t.services.database.db.insert(pushDevices).values([
      { userId: b.resident.id, platform: "ios", provider: "fcm", token: tokens.resident },
      { userId: b.neighbour.id, platform: "android", provider: "fcm", token: tokens.neighbour },
    ]);
    // The neighbour has the app open in the building's room; the manager has no device.
    await presenceOf(t.services).setOnline({
      buildingId: b.id,
      userId: b.neighbour.id,
      role: "resident",
      deviceId: "tab-1",
      connectionId: crypto.randomUUID(),
      since: new Date().toISOString(),
    });

    for (let i = 0; i < 3; i++) {
      const pushed = await push(t, b.manager, [
        {
          opId: opId(),
          type: "create",
          entity: "announcements",
          id: crypto.randomUUID(),
          fields: { buildingId: b.id, title: `Water off ${i}`, body: "10-12" },
          hlc: hlcAt(Date.now() + i),
        },
      ]);
      expect(pushed.status).toBe(200);
    }
    await flushSyncPokes(t.services);

    const pokes = await t.services.database.db.select().from(outbox).where(eq(outbox.topic, SYNC_POKE_TOPIC));
    const mine = pokes.filter((p) => p.buildingId === b.id);
    expect(mine.map((p) => (p.payload as { userId: string }).userId)).toEqual([b.resident.id]);

    // (Other notifications of the announcement may reach the same token: look for the poke.)
    const isPoke = (r: (typeof fcm.received)[number]) => r.message.data?.type === "sync-poke";
    const got = await waitFor("the resident's silent push", () =>
      fcm.received.find((r) => r.message.token === tokens.resident && isPoke(r)),
    );
    expect(got.message.notification).toBeUndefined();
    expect(got.message.data).toMatchObject({ type: "sync-poke", buildingId: b.id });
    expect(got.message.apns.headers).toMatchObject({ "apns-push-type": "background", "apns-priority": "5" });
    expect(fcm.received.filter((r) => r.message.token === tokens.resident && isPoke(r))).toHaveLength(1);
    expect(fcm.received.some((r) => r.message.token === tokens.neighbour && isPoke(r))).toBe(false);
  });

  it("a building whose members have no devices records nothing", async () => {
    const b = await createBuilding(t.services);
    await push(t, b.manager, [
      {
        opId: opId(),
        type: "create",
        entity: "announcements",
        id: crypto.randomUUID(),
        fields: { buildingId: b.id, title: "Lift", body: "fixed" },
        hlc: hlcAt(Date.now()),
      },
    ]);
    await flushSyncPokes(t.services);
    const pokes = await t.services.database.db.select().from(outbox).where(eq(outbox.buildingId, b.id));
    expect(pokes.filter((p) => p.topic === SYNC_POKE_TOPIC)).toEqual([]);
  });
});
