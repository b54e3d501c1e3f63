/**
 * Notifications through the real routes and the real outbox consumer, on PGlite and PostgreSQL: a
 * manager's announcement reaches a Hebrew resident's inbox (with bidi isolates) and becomes a
 * `notifications.push` event; urgent ones ignore quiet hours, others wait for their end; a user
 * live in the building's room gets the inbox row and no push; preferences (critical read-only),
 * quiet hours and template overrides through their routes, with the ugly inputs refused.
 */
import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { users } from "../../../src/db/schema";
import { FANOUT_TOPIC, recordDomainEvent } from "../../../src/modules/events";
import { notify } from "../../../src/modules/notifications";
import { FIRST_PAGE } from "../../../src/modules/notifications/deliver";
import { recordDuePayments } from "../../../src/modules/notifications/due-payments";
import { DOMAIN_TOPIC, REST_TOPIC } from "../../../src/modules/notifications/handlers";
import { DIRECT_TOPIC } from "../../../src/modules/notifications/notify";
import {
  PUSH_TOPIC,
  type PushEventPayload,
  type PushPayload,
  pushPayloadsOf,
} from "../../../src/modules/notifications/push-contract";
import { quietUntil } from "../../../src/modules/notifications/quiet-hours";
import { FSI, PDI } from "../../../src/modules/notifications/render";
import { inboxNotifications, notificationQuietHours } from "../../../src/modules/notifications/tables";
import { createOutboxConsumer } from "../../../src/modules/outbox/consumer";
import { presenceOf } from "../../../src/modules/realtime/presence";
import { publishAfterCommit } from "../../../src/modules/realtime/publish";
import { queryRows } from "../../../src/platform/db";
import { createTestApp, type TestApp } from "../../support/app";
import { DB_KINDS } from "../../support/db";
import { createBuilding, createUser, json, type TestBuilding, type TestUser } from "../../support/fixtures";
import { deliverPending } from "../../support/outbox";
import { announcementCreates, push } from "../sync/helpers";

const API = "/api/v1";

describe.each(DB_KINDS)("notifications on %s", (kind) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ db: kind, env: { RATE_LIMIT_ENABLED: "false" } });
  });
  afterAll(async () => {
    await t?.close();
  });

  const db = () => t.services.database.db;

  /** Runs every pending event of the notification topics through the real consumer. */
  async function deliverNotifications(): Promise<void> {
    for (let round = 0; round < 3; round++)
      if (!(await deliverPending(t, [DOMAIN_TOPIC, DIRECT_TOPIC, REST_TOPIC])).length) return;
  }

  /** The user's pushes recorded so far: their part of each chunk event that names them. */
  async function pushesFor(userId: string): Promise<Array<{ payload: PushPayload; availableAt: Date }>> {
    const rows = await queryRows<{ payload: PushEventPayload; available_at: string | Date }>(
      db(),
      sql`select payload, available_at from outbox where topic = ${PUSH_TOPIC}
          and payload->'recipients' @> ${JSON.stringify([{ userId }])}::jsonb order by created_at`,
    );
    return rows.flatMap((r) =>
      pushPayloadsOf(r.payload)
        .filter((p) => p.userId === userId)
        .map((payload) => ({ payload, availableAt: new Date(r.available_at) })),
    );
  }

  async function inboxOf(
    user: TestUser,
    query = "",
  ): Promise<{ data: any[]; pagination: any; unreadCount: number }> {
    const r = await t.request(`${API}/me/notifications${query}`, { headers: user.auth });
    expect(r.status).toBe(200);
    return (await r.json()) as { data: any[]; pagination: any; unreadCount: number };
  }

  const setLocale = (user: TestUser, locale: string, timezone = "UTC") =>
    db().update(users).set({ locale, timezone }).where(eq(users.id, user.id));

  async function post(path: string, user: TestUser, body: unknown, method = "POST") {
    const res = await t.request(`${API}${path}`, { ...json(body, user.auth), method });
    const out = await res.json().catch(() => null);
    return { status: res.status, body: out as any };
  }

  /** A window around the current time in UTC, so "now" is inside it. */
  function windowAroundNow() {
    const now = new Date();
    const minute = now.getUTCHours() * 60 + now.getUTCMinutes();
    const hh = (m: number) => {
      const x = ((m % 1440) + 1440) % 1440;
      return `${String(Math.floor(x / 60)).padStart(2, "0")}:${String(x % 60).padStart(2, "0")}`;
    };
    return { start: hh(minute - 60), end: hh(minute + 120) };
  }

  describe("an announcement", () => {
    let b: TestBuilding;
    beforeAll(async () => {
      b = await createBuilding(t.services, "מגדלי הים 12B");
      await setLocale(b.resident, "he", "Asia/Jerusalem");
    });

    it("reaches a Hebrew resident's inbox with isolates and becomes one push per recipient, in chunk events", async () => {
      const res = await post(`/buildings/${b.id}/announcements`, b.manager, {
        title: "Water off {{building}} $t(x) <b>",
        body: "10–12",
      });
      expect(res.status).toBe(201);
      await deliverNotifications();
      const inbox = await inboxOf(b.resident);
      const row = inbox.data.find((n) => n.data.announcementId === res.body.id);
      expect(row).toMatchObject({ type: "announcement", locale: "he", read: false });
      expect(row.title).toBe(`הודעה חדשה בבניין ${FSI}מגדלי הים 12B${PDI}`);
      // The title is text: neither the placeholder nor the nesting nor the markup is interpreted.
      expect(row.body).toBe(`${FSI}Water off {{building}} $t(x) <b>${PDI}`);
      expect(inbox.unreadCount).toBeGreaterThanOrEqual(1);

      const pushes = (await pushesFor(b.resident.id)).filter(
        (p) => p.payload.data.announcementId === res.body.id,
      );
      expect(pushes).toHaveLength(1);
      expect(pushes[0]!.payload).toMatchObject({
        notificationId: row.id,
        userId: b.resident.id,
        buildingId: b.id,
        type: "announcement",
        locale: "he",
        urgent: false,
      });
      expect(pushes[0]!.payload.title).toContain(`${FSI}מגדלי הים 12B${PDI}`);
      // The author is not notified; the English neighbour is, in English.
      expect(
        (await pushesFor(b.manager.id)).filter((p) => p.payload.data.announcementId === res.body.id),
      ).toEqual([]);
      const neighbour = await inboxOf(b.neighbour);
      const en = neighbour.data.find((n) => n.data.announcementId === res.body.id);
      expect(en.title).toBe("New announcement in מגדלי הים 12B");
    });

    it("is written once when the handler runs again (retry)", async () => {
      const res = await post(`/buildings/${b.id}/announcements`, b.manager, { title: "Twice", body: "." });
      const [event] = await queryRows<{ id: string; payload: unknown }>(
        db(),
        sql`select id, payload from outbox where topic = ${DOMAIN_TOPIC} and payload->'data'->>'announcementId' = ${res.body.id}`,
      );
      await deliverNotifications();
      // The same event again, as a retry after a lost acknowledgement would run it.
      await db().execute(sql`update outbox set dispatched_at = null where id = ${event!.id}`);
      await deliverNotifications();
      const rows = await db()
        .select()
        .from(inboxNotifications)
        .where(
          and(
            eq(inboxNotifications.userId, b.resident.id),
            sql`${inboxNotifications.data}->>'announcementId' = ${res.body.id}`,
          ),
        );
      expect(rows).toHaveLength(1);
      expect(
        (await pushesFor(b.resident.id)).filter((p) => p.payload.data.announcementId === res.body.id),
      ).toHaveLength(1);
    });

    it("posted offline in one sync batch: one row for the batch, a notice per announcement, once on redelivery", async () => {
      const ids = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
      const res = await push(
        t,
        b.manager,
        announcementCreates(b.id, ids, "mgr-offline", "Offline"),
        "mgr-offline",
      );
      expect(res.body.results.map((r: { status: string }) => r.status)).toEqual([
        "applied",
        "applied",
        "applied",
      ]);
      await deliverPending(t, [FANOUT_TOPIC]);
      const rows = await queryRows<{ id: string; payload: { events?: unknown[] } }>(
        db(),
        sql`select id, payload from outbox where topic = ${DOMAIN_TOPIC} and payload->'events'->0->'data'->>'announcementId' = ${ids[0]}`,
      );
      expect(rows).toHaveLength(1);
      expect(rows[0]!.payload.events).toHaveLength(3);
      await deliverNotifications();
      await db().execute(sql`update outbox set dispatched_at = null where id = ${rows[0]!.id}`);
      await deliverNotifications();
      const inbox = await inboxOf(b.resident, "?limit=100");
      for (const id of ids) {
        expect(
          inbox.data.filter((n) => n.data.announcementId === id),
          id,
        ).toHaveLength(1);
        expect(
          (await pushesFor(b.resident.id)).filter((p) => p.payload.data.announcementId === id),
        ).toHaveLength(1);
      }
    });

    it("waits for the end of quiet hours unless urgent", async () => {
      const w = windowAroundNow();
      const q = await post("/me/quiet-hours", b.neighbour, { ...w, timezone: "UTC" }, "PUT");
      expect(q.status).toBe(200);
      expect(q.body).toMatchObject({ enabled: true, start: w.start, end: w.end, timezone: "UTC" });
      const before = new Date();
      const normal = await post(`/buildings/${b.id}/announcements`, b.manager, { title: "Later", body: "." });
      const urgent = await post(`/buildings/${b.id}/announcements`, b.manager, {
        title: "Now",
        body: ".",
        priority: "urgent",
      });
      await deliverNotifications();
      const pushes = await pushesFor(b.neighbour.id);
      const held = pushes.find((p) => p.payload.data.announcementId === normal.body.id)!;
      const sent = pushes.find((p) => p.payload.data.announcementId === urgent.body.id)!;
      const [qh] = await db()
        .select()
        .from(notificationQuietHours)
        .where(eq(notificationQuietHours.userId, b.neighbour.id));
      const end = quietUntil(before, qh!, "UTC")!;
      expect(held.availableAt.getTime()).toBeGreaterThan(Date.now());
      expect(Math.abs(held.availableAt.getTime() - end.getTime())).toBeLessThan(60_000);
      expect(held.payload.urgent).toBe(false);
      expect(sent.payload.urgent).toBe(true);
      expect(sent.availableAt.getTime()).toBeLessThanOrEqual(Date.now());
      // The inbox has both at once: quiet hours hold pushes only.
      const inbox = await inboxOf(b.neighbour);
      const ids = inbox.data.map((n) => n.data.announcementId);
      expect(ids).toEqual(expect.arrayContaining([normal.body.id, urgent.body.id]));
      await post("/me/quiet-hours", b.neighbour, { start: null, end: null }, "PUT");
    });

    it("a member live in the room gets the inbox row and no push", async () => {
      const presence = presenceOf(t.services);
      const conn = {
        buildingId: b.id,
        connectionId: crypto.randomUUID(),
        userId: b.resident.id,
        role: "resident" as const,
        deviceId: "phone-1",
        since: new Date().toISOString(),
      };
      await presence.setOnline(conn);
      try {
        const res = await post(`/buildings/${b.id}/announcements`, b.manager, { title: "Live", body: "." });
        await deliverNotifications();
        const inbox = await inboxOf(b.resident);
        expect(inbox.data.some((n) => n.data.announcementId === res.body.id)).toBe(true);
        expect(
          (await pushesFor(b.resident.id)).filter((p) => p.payload.data.announcementId === res.body.id),
        ).toEqual([]);
        // The offline neighbour still gets the push.
        expect(
          (await pushesFor(b.neighbour.id)).filter((p) => p.payload.data.announcementId === res.body.id),
        ).toHaveLength(1);
      } finally {
        await presence.setOffline(conn);
      }
    });

    it("respects a disabled channel; critical types cannot be turned off", async () => {
      const off = await post(
        "/me/notification-preferences",
        b.neighbour,
        { preferences: [{ type: "announcement", channel: "push", enabled: false }] },
        "PUT",
      );
      expect(off.status).toBe(200);
      const ann = off.body.types.find((x: any) => x.type === "announcement");
      expect(ann.channels).toEqual({ push: false, in_app: true });
      const res = await post(`/buildings/${b.id}/announcements`, b.manager, { title: "Muted", body: "." });
      await deliverNotifications();
      expect(
        (await pushesFor(b.neighbour.id)).filter((p) => p.payload.data.announcementId === res.body.id),
      ).toEqual([]);
      expect((await inboxOf(b.neighbour)).data.some((n) => n.data.announcementId === res.body.id)).toBe(true);

      const critical = await post(
        "/me/notification-preferences",
        b.neighbour,
        { preferences: [{ type: "alert", channel: "push", enabled: false }] },
        "PUT",
      );
      expect(critical.status).toBe(400);
      expect(critical.body.code).toBe("VALIDATION_FAILED");
      expect(critical.body.errors[0].path).toBe("preferences.0.enabled");
      const get = await t.request(`${API}/me/notification-preferences`, { headers: b.neighbour.auth });
      const alert = ((await get.json()) as any).types.find((x: any) => x.type === "alert");
      expect(alert).toMatchObject({ critical: true, channels: { push: true, in_app: true } });
    });
  });

  it("maintenance status changes reach the requester, not the manager who changed it", async () => {
    const b = await createBuilding(t.services);
    await setLocale(b.resident, "he");
    const req = await post(`/buildings/${b.id}/requests`, b.resident, { title: "Leak in 12B" });
    expect(req.status).toBe(201);
    const patch = await post(
      `/buildings/${b.id}/requests/${req.body.id}`,
      b.manager,
      { status: "in_progress" },
      "PATCH",
    );
    expect(patch.status).toBe(200);
    await deliverNotifications();
    const inbox = await inboxOf(b.resident);
    const row = inbox.data.find((n) => n.type === "maintenance.status");
    expect(row.body).toBe(`הקריאה שלך ${FSI}Leak in 12B${PDI} כעת ${FSI}בטיפול${PDI}.`);
    expect((await inboxOf(b.manager)).data.filter((n) => n.type === "maintenance.status")).toEqual([]);
  });

  it("a recorded payment and a due payment reach the apartment's residents with the amount per locale", async () => {
    const b = await createBuilding(t.services);
    await setLocale(b.resident, "he");
    const today = new Date().toISOString().slice(0, 10);
    const paid = await post(`/buildings/${b.id}/payments`, b.manager, {
      apartmentId: b.apartments[0]!.id,
      kind: "payment",
      amountMinor: 125000,
    });
    expect(paid.status).toBe(201);
    const due = await post(`/buildings/${b.id}/payments`, b.manager, {
      apartmentId: b.apartments[0]!.id,
      kind: "due",
      amountMinor: 50000,
      dueDate: today,
    });
    expect(due.status).toBe(201);
    // Two sweeps at once (two hosts, or a slow run overlapping the next): the due is recorded once.
    const [x, y] = await Promise.all([recordDuePayments(t.services), recordDuePayments(t.services)]);
    expect(x + y).toBeGreaterThanOrEqual(1);
    expect(await recordDuePayments(t.services)).toBe(0);
    const dueEvents = await queryRows<{ n: number }>(
      db(),
      sql`select count(*)::int as n from outbox where topic = ${DOMAIN_TOPIC} and payload->'data'->>'paymentId' = ${due.body.id}`,
    );
    expect(dueEvents[0]!.n).toBe(1);
    await deliverNotifications();
    const inbox = await inboxOf(b.resident);
    const recorded = inbox.data.find((n) => n.type === "payment.recorded");
    const amount = new Intl.NumberFormat("he-IL", { style: "currency", currency: "ILS" }).format(1250);
    expect(recorded.body).toBe(`נרשם תשלום של ${FSI}${amount}${PDI} עבור דירה ${FSI}1${PDI}.`);
    const dueRow = inbox.data.find((n) => n.type === "payment.due");
    expect(dueRow.data.paymentId).toBe(due.body.id);
    expect(dueRow.body).toMatch(new RegExp(`${FSI}[^${PDI}]*500\\.00[^${PDI}]*${PDI}`));
    // The neighbour lives elsewhere: nothing.
    expect((await inboxOf(b.neighbour)).data.filter((n) => n.type.startsWith("payment"))).toEqual([]);
  });

  it("the loser of a sync conflict gets a localized notice with the field and both values", async () => {
    const b = await createBuilding(t.services);
    await setLocale(b.resident, "he");
    await publishAfterCommit(t.services, () =>
      db().transaction((tx) =>
        recordDomainEvent(tx, {
          type: "sync.conflict",
          buildingId: b.id,
          actorId: b.manager.id,
          data: {
            conflictId: crypto.randomUUID(),
            userId: b.resident.id,
            entity: "maintenance_requests",
            rowId: crypto.randomUUID(),
            field: "title",
            theirs: JSON.stringify("Leak in 12B"),
            winner: JSON.stringify("דליפה"),
          },
        }),
      ),
    );
    await deliverNotifications();
    const row = (await inboxOf(b.resident)).data.find((n) => n.type === "sync.conflict");
    expect(row.title).toBe("השינוי שלך לא נשמר");
    expect(row.body).toBe(
      `השדה ${FSI}title${PDI} שונה במקביל במקום אחר. הערך שלך: ${FSI}Leak in 12B${PDI}. הערך שנשמר: ${FSI}דליפה${PDI}.`,
    );
    // sync.conflict pushes are off by default: the inbox carries it.
    expect((await pushesFor(b.resident.id)).filter((p) => p.payload.type === "sync.conflict")).toEqual([]);
  });

  it("an invited member gets an invitation", async () => {
    const name = `Invite House ${crypto.randomUUID().slice(0, 6)}`;
    const b = await createBuilding(t.services, name);
    const email = `invitee-${crypto.randomUUID()}@test.horizon`;
    const res = await post(`/buildings/${b.id}/members`, b.manager, {
      email,
      role: "resident",
      apartmentId: b.apartments[2]!.id,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    await deliverNotifications();
    const rows = await db()
      .select()
      .from(inboxNotifications)
      .where(and(eq(inboxNotifications.type, "invitation"), eq(inboxNotifications.buildingId, b.id)));
    expect(rows).toHaveLength(1);
    expect(rows[0]!.title).toBe(`You are invited to ${name}`);
    expect(rows[0]!.body).toContain("as resident.");
  });

  it("notify(): a critical alert reaches every platform administrator, urgent, deduplicated by key", async () => {
    const admin = await createUser(t.services, { admin: true });
    await setLocale(admin, "en");
    const key = `test-alert-${crypto.randomUUID()}`;
    const send = () =>
      publishAfterCommit(t.services, () =>
        db().transaction((tx) =>
          notify(tx, {
            type: "alert",
            to: "platform-admins",
            key,
            values: { title: "5xx burst", detail: "42 in 1 min" },
          }),
        ),
      );
    const first = await send();
    const second = await send();
    expect(first.created).toBe(true);
    expect(second).toEqual({ eventId: first.eventId, created: false });
    await deliverNotifications();
    const inbox = await inboxOf(admin);
    const rows = inbox.data.filter((n) => n.eventId === first.eventId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      type: "alert",
      title: "Platform alert: 5xx burst",
      body: "42 in 1 min",
      urgent: true,
    });
    const pushes = (await pushesFor(admin.id)).filter((p) => p.payload.data.eventId === first.eventId);
    expect(pushes).toHaveLength(1);
    await expect(
      notify(db(), { type: "alert", to: "platform-admins", values: { title: "x" } }),
    ).rejects.toThrow();
  });

  it("a notice to many users decides the first page at once and the rest in a second event, each once", async () => {
    // The rest is more than the 1,000 inbox rows written per statement: it takes the transaction path.
    const n = FIRST_PAGE + 1_007;
    const many = await db()
      .insert(users)
      .values(
        Array.from({ length: n }, (_, i) => ({
          email: `many-${i}-${crypto.randomUUID()}@test.horizon`,
          name: `Many ${i}`,
          passwordHash: "!fixture-no-login",
          locale: i % 2 ? "he" : "en",
        })),
      )
      .returning({ id: users.id });
    const ids = many.map((u) => u.id);
    const { eventId } = await publishAfterCommit(t.services, () =>
      db().transaction((tx) =>
        notify(tx, { type: "alert", to: { userIds: ids }, values: { title: "Many", detail: "." } }),
      ),
    );
    const consumer = createOutboxConsumer(t.services);
    const [direct] = await queryRows<{ id: string }>(
      db(),
      sql`select id from outbox where topic = ${DIRECT_TOPIC} and payload->>'eventId' = ${eventId}`,
    );
    expect((await consumer.deliver(direct!.id)).status).toBe("ok");
    const inboxCount = async () =>
      (
        await queryRows<{ n: number }>(
          db(),
          sql`select count(*)::int as n from inbox_notifications where event_id = ${eventId}`,
        )
      )[0]!.n;
    const chunks = async () =>
      queryRows<{ payload: PushEventPayload; available_at: string | Date }>(
        db(),
        sql`select payload, available_at from outbox where topic = ${PUSH_TOPIC} and payload->'data'->>'eventId' = ${eventId} order by available_at`,
      );
    // The first step: FIRST_PAGE recipients (the lowest user ids), their pushes due before the rest.
    expect(await inboxCount()).toBe(FIRST_PAGE);
    const [restEvent, ...more] = await queryRows<{ id: string; payload: any; available_at: string | Date }>(
      db(),
      sql`select id, payload, available_at from outbox where topic = ${REST_TOPIC} and payload->'event'->>'eventId' = ${eventId}`,
    );
    expect(more).toEqual([]);
    const sorted = [...ids].sort();
    expect(restEvent!.payload.recipients).toEqual(sorted.slice(FIRST_PAGE));
    const first = await chunks();
    expect(first.flatMap((c) => pushPayloadsOf(c.payload).map((p) => p.userId)).sort()).toEqual(
      sorted.slice(0, FIRST_PAGE),
    );
    for (const c of first)
      expect(new Date(c.available_at).getTime()).toBeLessThan(new Date(restEvent!.available_at).getTime());

    // The rest, then both steps again (a redelivery): every recipient once, in the inbox and in the pushes.
    expect((await consumer.deliver(restEvent!.id)).status).toBe("ok");
    await db().execute(
      sql`update outbox set dispatched_at = null where id in (${direct!.id}, ${restEvent!.id})`,
    );
    expect((await consumer.deliver(direct!.id)).status).toBe("ok");
    expect((await consumer.deliver(restEvent!.id)).status).toBe("ok");
    expect(await inboxCount()).toBe(n);
    const all = (await chunks()).flatMap((c) => pushPayloadsOf(c.payload));
    expect(all.map((p) => p.userId).sort()).toEqual(sorted);
    for (const p of all) {
      expect(p.title).toBe(p.locale === "he" ? `התראת מערכת: ${FSI}Many${PDI}` : "Platform alert: Many");
      expect(p.data.notificationId).toBe(p.notificationId);
    }
    const restEvents = await queryRows<{ n: number }>(
      db(),
      sql`select count(*)::int as n from outbox where topic = ${REST_TOPIC} and payload->'event'->>'eventId' = ${eventId}`,
    );
    expect(restEvents[0]!.n).toBe(1);
  });

  describe("the inbox", () => {
    it("pages with cursors, counts unread, marks one and all read, and hides others' rows", async () => {
      const user = await createUser(t.services);
      const other = await createUser(t.services);
      for (let i = 0; i < 3; i++)
        await publishAfterCommit(t.services, () =>
          db().transaction((tx) =>
            notify(tx, {
              type: "alert",
              to: { userIds: [user.id] },
              values: { title: `n${i}`, detail: "." },
            }),
          ),
        );
      await deliverNotifications();
      const first = await inboxOf(user, "?limit=2");
      expect(first.data).toHaveLength(2);
      expect(first.unreadCount).toBe(3);
      expect(first.pagination.nextCursor).toBeTruthy();
      const second = await inboxOf(
        user,
        `?limit=2&cursor=${encodeURIComponent(first.pagination.nextCursor)}`,
      );
      expect(second.data).toHaveLength(1);
      const all = [...first.data, ...second.data].map((n) => n.title);
      expect(all).toEqual(["Platform alert: n2", "Platform alert: n1", "Platform alert: n0"]);

      const id = first.data[0].id;
      expect((await post(`/me/notifications/${id}/read`, other, {}, "PUT")).status).toBe(404);
      const read = await post(`/me/notifications/${id}/read`, user, {}, "PUT");
      expect(read.status).toBe(200);
      expect(read.body.read).toBe(true);
      expect((await inboxOf(user)).unreadCount).toBe(2);
      expect((await inboxOf(user, "?unread=true")).data).toHaveLength(2);
      const all2 = await post("/me/notifications/read-all", user, {});
      expect(all2.body).toEqual({ updated: 2 });
      expect((await inboxOf(user)).unreadCount).toBe(0);
    });
  });

  describe("quiet hours and templates refuse ugly input", () => {
    it("quiet hours: bad time zone, malformed times, half a window", async () => {
      const user = await createUser(t.services);
      const bad = [
        { start: "22:00", end: "07:00", timezone: "Mars/Olympus" },
        { start: "24:00", end: "07:00" },
        { start: "7:00", end: "07:30" },
        { start: "22:00", end: null },
        { start: "22:00", end: "22:00" },
        { start: "22:00" },
        { start: "22:00", end: "07:00", timezone: "x".repeat(100) },
      ];
      for (const body of bad) {
        const res = await post("/me/quiet-hours", user, body, "PUT");
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(res.body.code).toBe("VALIDATION_FAILED");
      }
      const ok = await post(
        "/me/quiet-hours",
        user,
        { start: "22:00", end: "07:00", timezone: "Asia/Jerusalem" },
        "PUT",
      );
      expect(ok.body).toEqual({ enabled: true, start: "22:00", end: "07:00", timezone: "Asia/Jerusalem" });
    });

    it("preferences: unknown type or channel", async () => {
      const user = await createUser(t.services);
      for (const p of [
        { type: "nope", channel: "push", enabled: false },
        { type: "announcement", channel: "sms", enabled: false },
      ]) {
        const res = await post("/me/notification-preferences", user, { preferences: [p] }, "PUT");
        expect(res.status).toBe(400);
      }
    });

    it("templates: undeclared variable refused at save, 100 KB refused, overrides apply and are dropped", async () => {
      const admin = await createUser(t.services, { admin: true });
      const path = "/admin/notification-templates/alert/he/push";
      const undeclared = await post(
        path,
        admin,
        { title: "{{title}} {{apartment}}", body: "{{detail}}" },
        "PUT",
      );
      expect(undeclared.status).toBe(400);
      expect(undeclared.body.errors[0]).toMatchObject({ path: "title", code: "undeclared_variable" });
      const formatted = await post(path, admin, { title: "{{title, uppercase}}", body: "x" }, "PUT");
      expect(formatted.status).toBe(400);
      const huge = await post(path, admin, { title: "t", body: "x".repeat(100 * 1024) }, "PUT");
      expect([400, 413]).toContain(huge.status);
      expect(
        (await post("/admin/notification-templates/nope/he/push", admin, { title: "t", body: "b" }, "PUT"))
          .status,
      ).toBe(400);
      const resident = await createUser(t.services);
      expect((await post(path, resident, { title: "t", body: "b" }, "PUT")).status).toBe(403);

      const saved = await post(path, admin, { title: "התראה! {{title}}", body: "{{detail}}" }, "PUT");
      expect(saved.status).toBe(200);
      expect(saved.body.texts.find((x: any) => x.locale === "he" && x.channel === "push")).toMatchObject({
        title: "התראה! {{title}}",
        overridden: true,
      });
      const admin2 = await createUser(t.services, { admin: true });
      await setLocale(admin2, "he");
      const sent = await publishAfterCommit(t.services, () =>
        db().transaction((tx) =>
          notify(tx, {
            type: "alert",
            to: { userIds: [admin2.id] },
            values: { title: "CPU", detail: "99%" },
          }),
        ),
      );
      await deliverNotifications();
      const push = (await pushesFor(admin2.id)).find((p) => p.payload.data.eventId === sent.eventId)!;
      expect(push.payload.title).toBe(`התראה! ${FSI}CPU${PDI}`);

      const del = await t.request(`${API}${path}`, { method: "DELETE", headers: admin.auth });
      expect(del.status).toBe(204);
      const list = await t.request(`${API}/admin/notification-templates`, { headers: admin.auth });
      const alert = ((await list.json()) as any).types.find((x: any) => x.type === "alert");
      expect(alert.texts.find((x: any) => x.locale === "he" && x.channel === "push")).toMatchObject({
        title: "התראת מערכת: {{title}}",
        overridden: false,
      });
      expect((await t.request(`${API}${path}`, { method: "DELETE", headers: admin.auth })).status).toBe(404);
    });
  });

  describe("API i18n", () => {
    it("problem titles follow Accept-Language; the signed-in user's locale wins; the code stays", async () => {
      const he = await t.request(`${API}/me/notifications/${crypto.randomUUID()}/read`, {
        method: "PUT",
        headers: { "accept-language": "he-IL,he;q=0.9,en;q=0.8" },
      });
      expect(he.status).toBe(401);
      const body = (await he.json()) as any;
      expect(body).toMatchObject({ code: "UNAUTHENTICATED", title: "נדרשת הזדהות" });
      expect(he.headers.get("content-language")).toBe("he");
      expect(he.headers.get("vary")).toContain("Accept-Language");

      const fr = await t.request(`${API}/nope`, { headers: { "accept-language": "fr-FR, de;q=0.5" } });
      expect(((await fr.json()) as any).title).toBe("Not Found");

      const user = await createUser(t.services, { locale: "he" });
      const mine = await t.request(`${API}/me/notifications/${crypto.randomUUID()}/read`, {
        method: "PUT",
        headers: { ...user.auth, "accept-language": "en" },
      });
      expect(mine.status).toBe(404);
      expect((await mine.json()) as any).toMatchObject({ code: "NOT_FOUND", title: "לא נמצא" });
    });
  });
});
