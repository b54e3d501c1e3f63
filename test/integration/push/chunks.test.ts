/**
 * A `notifications.push` chunk event (many recipients in one event) through the real outbox
 * consumer and the real delivery log, on PGlite and PostgreSQL, with a scripted provider answering
 * per device: one run logs every device of every recipient (sent with the provider's id, failed
 * with its error), deletes dead tokens at once, keeps rejected ones, and is retried for the
 * transient ones only; a redelivered chunk (the outbox may hand the same event over twice) sends
 * nothing twice; and an event of the older one-recipient shape is still delivered.
 */
import { eq, inArray, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outbox, pushDeliveries, pushDevices } from "../../../src/db/schema";
import { PUSH_TOPIC, type PushChunkPayload } from "../../../src/modules/notifications/push-contract";
import { recordEvent } from "../../../src/modules/outbox";
import { createOutboxConsumer } from "../../../src/modules/outbox/consumer";
import {
  createPushService,
  type PushDevice,
  type PushMessage,
  PushPermanentError,
  type PushProvider,
  PushRejectedError,
  PushTransientError,
} from "../../../src/platform/push";
import type { Clock } from "../../../src/services";
import { createTestApp, type TestApp } from "../../support/app";
import { DB_KINDS } from "../../support/db";
import { createUser } from "../../support/fixtures";

type Outcome = "ok" | "permanent" | "rejected" | "transient";

describe.each(DB_KINDS)("push chunk events on %s", (kind) => {
  let t: TestApp;
  let clockMs = Date.now();
  const clock: Clock = { now: () => new Date(clockMs) };
  /** Per device token: the answers to its 1st, 2nd, … call (then "ok"). */
  const scripts = new Map<string, Outcome[]>();
  const calls: Array<{ token: string; message: PushMessage }> = [];
  const provider: PushProvider = {
    name: "log",
    async send(device: PushDevice, message: PushMessage) {
      const n = calls.filter((c) => c.token === device.token).length;
      calls.push({ token: device.token, message });
      const outcome = scripts.get(device.token)?.[n] ?? "ok";
      if (outcome === "permanent") throw new PushPermanentError(device.provider, "Unregistered");
      if (outcome === "rejected") throw new PushRejectedError(device.provider, "PayloadTooLarge");
      if (outcome === "transient") throw new PushTransientError(device.provider, "ServiceUnavailable");
      return { messageId: `msg-${device.token}-${n + 1}` };
    },
  };
  const callsTo = (token: string) => calls.filter((c) => c.token === token);

  beforeAll(async () => {
    t = await createTestApp({ db: kind, clock });
    t.services.push = createPushService({
      providers: { fcm: provider, apns: provider, webpush: provider },
      fallback: provider,
      // The breaker has its own test: here it must not step in.
      breaker: { failureThreshold: Number.MAX_SAFE_INTEGER },
    });
  });
  afterAll(async () => t?.close());

  async function device(userId: string, outcomes: Outcome[], provider: "fcm" | "apns" | "webpush" = "fcm") {
    const token = `tok-${crypto.randomUUID()}`;
    scripts.set(token, outcomes);
    const platform =
      provider === "apns"
        ? ("ios" as const)
        : provider === "webpush"
          ? ("web" as const)
          : ("android" as const);
    const [row] = await t.services.database.db
      .insert(pushDevices)
      .values({ userId, provider, platform, token })
      .returning();
    return row!;
  }

  const logOf = async (notificationIds: string[]) =>
    new Map(
      (
        await t.services.database.db
          .select()
          .from(pushDeliveries)
          .where(inArray(pushDeliveries.notificationId, notificationIds))
      ).map((r) => [r.deviceId, r]),
    );

  const eventRow = async (id: string) =>
    (await t.services.database.db.select().from(outbox).where(eq(outbox.id, id)))[0]!;

  it("logs each device of a mixed chunk, deletes dead tokens, retries only the transient ones, and a redelivered chunk sends nothing twice", async () => {
    const [ana, ben, dov, eli] = await Promise.all([
      createUser(t.services),
      createUser(t.services, { locale: "he" }),
      createUser(t.services),
      createUser(t.services),
    ]);
    const anaOk = await device(ana.id, ["ok"]);
    const anaDead = await device(ana.id, ["permanent"], "apns");
    const benFlaky = await device(ben.id, ["transient", "transient"], "webpush");
    const benOk = await device(ben.id, ["ok"]);
    const dovRejected = await device(dov.id, ["rejected"]);
    // eli has no device: a recipient without devices is nothing to send.
    const ids = {
      ana: crypto.randomUUID(),
      ben: crypto.randomUUID(),
      dov: crypto.randomUUID(),
      eli: crypto.randomUUID(),
    };
    const payload: PushChunkPayload = {
      buildingId: null,
      type: "announcement",
      texts: { en: { title: "Water off", body: "10–12" }, he: { title: "המים ינותקו", body: "10–12" } },
      data: { announcementId: crypto.randomUUID() },
      urgent: false,
      ttlSeconds: 3600,
      recipients: [
        { notificationId: ids.ana, userId: ana.id, locale: "en" },
        { notificationId: ids.ben, userId: ben.id, locale: "he" },
        { notificationId: ids.dov, userId: dov.id, locale: "en" },
        { notificationId: ids.eli, userId: eli.id, locale: "en" },
      ],
    };
    clockMs = Date.now();
    const { id } = await recordEvent(t.services.database.db, { topic: PUSH_TOPIC, payload });
    const consumer = createOutboxConsumer(t.services);

    // First run: every device tried once, in one run; the transient one makes the event retry.
    const first = await consumer.deliver(id);
    expect(first.status).toBe("retry");
    let log = await logOf(Object.values(ids));
    expect(log.size).toBe(5);
    expect(log.get(anaOk.id)).toMatchObject({
      notificationId: ids.ana,
      userId: ana.id,
      status: "sent",
      providerMessageId: `msg-${anaOk.token}-1`,
      error: null,
      attempts: 1,
    });
    expect(log.get(anaOk.id)!.sentAt).not.toBeNull();
    expect(log.get(anaDead.id)).toMatchObject({
      notificationId: ids.ana,
      status: "failed",
      attempts: 1,
      provider: "apns",
    });
    expect(log.get(anaDead.id)!.error).toContain("Unregistered");
    expect(log.get(benFlaky.id)).toMatchObject({ notificationId: ids.ben, status: "failed", attempts: 1 });
    expect(log.get(benFlaky.id)!.error).toContain("ServiceUnavailable");
    expect(log.get(benOk.id)).toMatchObject({ notificationId: ids.ben, status: "sent", attempts: 1 });
    expect(log.get(dovRejected.id)).toMatchObject({ notificationId: ids.dov, status: "failed", attempts: 1 });
    expect(log.get(dovRejected.id)!.error).toContain("PayloadTooLarge");
    // The dead token is gone at once; the rejected one stays.
    const left = new Set(
      (
        await t.services.database.db
          .select({ id: pushDevices.id })
          .from(pushDevices)
          .where(inArray(pushDevices.userId, [ana.id, ben.id, dov.id]))
      ).map((d) => d.id),
    );
    expect(left).toEqual(new Set([anaOk.id, benFlaky.id, benOk.id, dovRejected.id]));
    // Each recipient got their own notification id and their locale's text.
    const toBen = callsTo(benOk.token)[0]!.message;
    expect(toBen).toMatchObject({ title: "המים ינותקו", body: "10–12", urgent: false, ttlSeconds: 3600 });
    expect(toBen.data).toMatchObject({
      notificationId: ids.ben,
      type: "announcement",
      announcementId: payload.data.announcementId,
    });
    expect(callsTo(anaOk.token)[0]!.message).toMatchObject({ title: "Water off" });
    expect(callsTo(anaOk.token)[0]!.message.data.notificationId).toBe(ids.ana);

    // The retries (1 s, then 2 s): only the transiently failed device is tried again.
    const row1 = await eventRow(id);
    expect(row1.availableAt.getTime() - clockMs).toBe(1000);
    clockMs = row1.availableAt.getTime();
    expect((await consumer.deliver(id)).status).toBe("retry");
    const row2 = await eventRow(id);
    expect(row2.availableAt.getTime() - clockMs).toBe(2000);
    clockMs = row2.availableAt.getTime();
    expect((await consumer.deliver(id)).status).toBe("ok");
    expect(callsTo(benFlaky.token)).toHaveLength(3);
    for (const d of [anaOk, anaDead, benOk, dovRejected]) expect(callsTo(d.token)).toHaveLength(1);
    log = await logOf(Object.values(ids));
    expect(log.get(benFlaky.id)).toMatchObject({
      status: "sent",
      attempts: 3,
      error: null,
      providerMessageId: `msg-${benFlaky.token}-3`,
    });
    expect(log.get(dovRejected.id)).toMatchObject({ status: "failed", attempts: 1 });

    // Delivered twice (a lost acknowledgement): nothing goes out again, the log is unchanged.
    const before = calls.length;
    await t.services.database.db.execute(sql`update outbox set dispatched_at = null where id = ${id}`);
    expect((await consumer.deliver(id)).status).toBe("ok");
    expect(calls.length).toBe(before);
    expect(await logOf(Object.values(ids))).toEqual(log);
  });

  it("still delivers an event of the older one-recipient shape", async () => {
    const user = await createUser(t.services);
    const d = await device(user.id, ["ok"]);
    const notificationId = crypto.randomUUID();
    const { id } = await recordEvent(t.services.database.db, {
      topic: PUSH_TOPIC,
      payload: {
        notificationId,
        userId: user.id,
        buildingId: null,
        type: "announcement",
        title: "Old shape",
        body: "queued before the upgrade",
        locale: "en",
        data: { announcementId: crypto.randomUUID() },
        urgent: true,
      },
    });
    clockMs = Date.now();
    expect((await createOutboxConsumer(t.services).deliver(id)).status).toBe("ok");
    expect(callsTo(d.token)).toHaveLength(1);
    expect(callsTo(d.token)[0]!.message).toMatchObject({ title: "Old shape", urgent: true });
    expect(callsTo(d.token)[0]!.message.data.notificationId).toBe(notificationId);
    expect((await logOf([notificationId])).get(d.id)).toMatchObject({ status: "sent", attempts: 1 });
  });

  it("a chunk whose recipient has no text for their locale is poison: dead at once, nothing sent", async () => {
    const user = await createUser(t.services);
    const d = await device(user.id, ["ok"]);
    const { id } = await recordEvent(t.services.database.db, {
      topic: PUSH_TOPIC,
      payload: {
        buildingId: null,
        type: "announcement",
        texts: { en: { title: "t", body: "b" } },
        data: {},
        urgent: false,
        recipients: [{ notificationId: crypto.randomUUID(), userId: user.id, locale: "he" }],
      },
    });
    clockMs = Date.now();
    expect((await createOutboxConsumer(t.services).deliver(id)).status).toBe("dead");
    expect(callsTo(d.token)).toHaveLength(0);
  });
});
