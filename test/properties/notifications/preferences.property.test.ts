/**
 * Property 13 on the real decision path (deliverNotice on PGlite): for any stored preferences of a
 * user and any notification type, a channel the user turned off gets nothing of that type (no inbox
 * row, no push event), a channel left alone follows the type's default, and critical types reach
 * every channel whatever is stored — and cannot be turned off through the preferences verb.
 */
import { and, eq, sql } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiError } from "../../../src/errors";
import {
  CHANNELS,
  type Channel,
  NOTIFICATION_TYPE_NAMES,
  NOTIFICATION_TYPES,
  type NotificationType,
} from "../../../src/modules/notifications/catalogue";
import { deliverNotice } from "../../../src/modules/notifications/deliver";
import { PUSH_TOPIC } from "../../../src/modules/notifications/push-contract";
import { inboxNotifications, notificationChannelPrefs } from "../../../src/modules/notifications/tables";
import { setPreferences } from "../../../src/modules/notifications/verbs";
import { queryRows } from "../../../src/platform/db";
import { userActor, type VerbContext } from "../../../src/verbs";
import { createTestApp, type TestApp } from "../../support/app";
import { createUser, type TestUser } from "../../support/fixtures";

describe("Property 13: Notification preference enforcement", () => {
  let t: TestApp;
  let user: TestUser;
  let ctx: VerbContext;

  beforeAll(async () => {
    t = await createTestApp({ db: "pglite" });
    user = await createUser(t.services);
    ctx = {
      services: t.services,
      db: t.services.database.db,
      actor: userActor({ userId: user.id, isAdmin: false }),
      membership: null,
      correlationId: "property-13",
      ip: "",
      userAgent: "",
      now: new Date(),
    };
  });
  afterAll(async () => {
    await t?.close();
  });

  const stored = fc.constantFrom<boolean | undefined>(true, false, undefined);

  it("Property 13: a disabled (type, channel) is never sent; critical types always are", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...NOTIFICATION_TYPE_NAMES),
        fc.record({ push: stored, in_app: stored }),
        async (type: NotificationType, choice: Record<Channel, boolean | undefined>) => {
          const db = t.services.database.db;
          await db.delete(notificationChannelPrefs).where(eq(notificationChannelPrefs.userId, user.id));
          // Stored as a user could have before the type became critical: the table may hold anything.
          const rows = CHANNELS.filter((c) => choice[c] !== undefined).map((c) => ({
            userId: user.id,
            type,
            channel: c,
            enabled: choice[c]!,
          }));
          if (rows.length) await db.insert(notificationChannelPrefs).values(rows);
          const eventId = crypto.randomUUID();
          const values = Object.fromEntries(NOTIFICATION_TYPES[type].variables.map((v) => [v, "x"]));
          await deliverNotice(
            { ...ctx, now: new Date() },
            {
              eventId,
              type,
              buildingId: null,
              recipients: [user.id],
              urgent: false,
              values: () => values,
              data: {},
            },
          );
          const inbox = await db
            .select({ id: inboxNotifications.id })
            .from(inboxNotifications)
            .where(and(eq(inboxNotifications.userId, user.id), eq(inboxNotifications.eventId, eventId)));
          const pushes = await queryRows<{ id: string }>(
            db,
            sql`select id from outbox where topic = ${PUSH_TOPIC} and payload->'data'->>'eventId' = ${eventId}`,
          );
          const spec = NOTIFICATION_TYPES[type];
          const expect_ = (c: Channel) => spec.critical || (choice[c] ?? spec.defaults[c]);
          expect(inbox.length).toBe(expect_("in_app") ? 1 : 0);
          expect(pushes.length).toBe(expect_("push") ? 1 : 0);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("Property 13: critical types are read-only through the preferences verb", async () => {
    const critical = NOTIFICATION_TYPE_NAMES.filter((x) => NOTIFICATION_TYPES[x].critical);
    expect(critical.length).toBeGreaterThan(0);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...critical), fc.constantFrom(...CHANNELS), async (type, channel) => {
        const err = await setPreferences({ ctx, preferences: [{ type, channel, enabled: false }] }).catch(
          (e) => e,
        );
        expect(err).toBeInstanceOf(ApiError);
        expect((err as ApiError).status).toBe(400);
        const prefs = await setPreferences({ ctx, preferences: [{ type, channel, enabled: true }] });
        expect(prefs.find((p) => p.type === type)!.channels[channel]).toBe(true);
      }),
      { numRuns: 100 },
    );
  });
});
