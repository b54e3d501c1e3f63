/**
 * The fan-out statement and the delivery's two statements (src/modules/webhooks/dispatch.ts,
 * deliver.ts) on both databases: which endpoints a domain event reaches, that a redelivered
 * dispatch or delivery adds nothing, that the endpoint read before each attempt is current (a
 * disabled endpoint is not sent to, a rotated secret signs at once), and what one attempt records.
 * Handlers are called the way the outbox consumer calls them; only loopback is contacted.
 */
import { and, eq, inArray, sql } from "drizzle-orm";
import { Webhook } from "standardwebhooks";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { outbox } from "../../../src/db/schema";
import { type OutboxHandlerContext, outboxHandlers } from "../../../src/modules/outbox/registry";
import { attemptDelivery } from "../../../src/modules/webhooks/deliver";
import { generateSecret } from "../../../src/modules/webhooks/signing";
import { webhookAttempts, webhookEndpoints, webhookMessages } from "../../../src/modules/webhooks/tables";
import { DISPATCH_TOPIC, ROTATION_OVERLAP_MS } from "../../../src/modules/webhooks/verbs";
import type { InProcessQueue } from "../../../src/platform/queue/in-process";
import type { DomainEventEnvelope } from "../../../src/protocol/events";
import { startInProcessQueue } from "../../../workers/outbox-queue";
import { createTestApp, type TestApp } from "../../support/app";
import { DB_KINDS } from "../../support/db";
import { createBuilding, type TestBuilding } from "../../support/fixtures";
import { waitFor } from "../../support/wait";
import { startWebhookReceiver, type WebhookReceiver } from "../../support/webhook-receiver";

describe.each(DB_KINDS)("webhook fan-out and delivery statements on %s", (kind) => {
  let t: TestApp;
  let receiver: WebhookReceiver;
  let queue: InProcessQueue;
  let home: TestBuilding;
  let other: TestBuilding;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    t = await createTestApp({
      db: kind,
      env: { OUTBOUND_ALLOW_HOSTS: `127.0.0.1:${receiver.port}`, RATE_LIMIT_ENABLED: "false" },
    });
    home = await createBuilding(t.services);
    other = await createBuilding(t.services);
  });
  afterAll(async () => {
    await queue?.close();
    await receiver.close();
    await t.close();
  });
  afterEach(() => {
    receiver.respond = () => ({ status: 200, body: "ok" });
  });

  const db = () => t.services.database.db;

  /** A context as the outbox consumer builds it. */
  const handlerCtx = (
    topic: string,
    payload: unknown,
    correlationId = "corr-paths",
  ): OutboxHandlerContext => ({
    services: t.services,
    db: db(),
    actor: { kind: "system", name: "outbox-dispatcher" },
    membership: null,
    correlationId,
    ip: "",
    userAgent: "test",
    now: new Date(),
    job: { kind: "system", name: "outbox-dispatcher" },
    event: {
      id: crypto.randomUUID(),
      topic,
      buildingId: home.id,
      payload,
      correlationId,
      attempts: 1,
      createdAt: new Date(),
    },
  });

  async function endpoint(
    building: TestBuilding | null,
    path: string,
    fields: Partial<typeof webhookEndpoints.$inferInsert> = {},
  ) {
    const secret = generateSecret();
    const [row] = await db()
      .insert(webhookEndpoints)
      .values({
        buildingId: building?.id ?? null,
        url: receiver.url(path),
        eventTypes: ["maintenance.created"],
        secret,
        createdBy: (building ?? home).manager.id,
        ...fields,
      })
      .returning();
    receiver.secrets.push(fields.secret ?? secret);
    return row!;
  }

  function envelope(building: TestBuilding, title: string): DomainEventEnvelope {
    return {
      eventId: crypto.randomUUID(),
      type: "maintenance.created",
      buildingId: building.id,
      occurredAt: new Date().toISOString(),
      actorId: null,
      data: {
        requestId: crypto.randomUUID(),
        title,
        category: null,
        priority: "normal",
        requesterId: building.resident.id,
        apartmentId: null,
      },
    } as DomainEventEnvelope;
  }

  /** Runs the fan-out handler on a payload: one envelope, or a sync batch's `{ events }`. */
  async function dispatch(
    event: DomainEventEnvelope | { events: DomainEventEnvelope[] },
    correlationId?: string,
  ) {
    const handler = outboxHandlers.get(DISPATCH_TOPIC)!;
    await handler.handle(handler.payload!.parse(event), handlerCtx(DISPATCH_TOPIC, event, correlationId));
  }

  const messagesOf = (endpointIds: string[]) =>
    db().select().from(webhookMessages).where(inArray(webhookMessages.endpointId, endpointIds));

  it("a sync batch's row: every event of it reaches each matching endpoint once, also when redelivered", async () => {
    const wanted = await endpoint(home, "/batch/wanted");
    const batch = [envelope(home, "Batch 1"), envelope(home, "Batch 2"), envelope(home, "Batch 3")];
    await dispatch({ events: batch });
    await dispatch({ events: batch });
    const messages = await messagesOf([wanted.id]);
    expect(messages.map((m) => m.eventId).sort()).toEqual(batch.map((e) => e.eventId).sort());
    await db().update(webhookEndpoints).set({ active: false }).where(eq(webhookEndpoints.id, wanted.id));
  });

  it("one message and one deliver event per matching endpoint, handed to the queue; a redelivered dispatch adds nothing", async () => {
    const wanted = await endpoint(home, "/fan/wanted");
    const platform = await endpoint(null, "/fan/platform");
    const otherType = await endpoint(home, "/fan/other-type", { eventTypes: ["payment.recorded"] });
    const inactive = await endpoint(home, "/fan/inactive", { active: false });
    const otherBuilding = await endpoint(other, "/fan/other-building");
    const all = [wanted, platform, otherType, inactive, otherBuilding].map((e) => e.id);
    // Polling once in ten minutes: only the hand-over after the statement wakes it in time.
    queue = startInProcessQueue(t.services, { pollMs: 600_000 });
    await queue.wake();
    try {
      const event = envelope(home, "Fan-out");
      await dispatch(event, "corr-fan-out");
      await dispatch(event, "corr-fan-out");

      const messages = await messagesOf(all);
      expect(messages.map((m) => m.endpointId).sort()).toEqual([wanted.id, platform.id].sort());
      for (const m of messages) {
        expect(m).toMatchObject({
          eventId: event.eventId,
          eventType: "maintenance.created",
          buildingId: home.id,
          correlationId: "corr-fan-out",
          status: expect.stringMatching(/pending|succeeded/),
        });
        expect(JSON.parse(m.body)).toEqual({
          type: event.type,
          timestamp: event.occurredAt,
          data: event.data,
        });
      }
      const events = await db()
        .select()
        .from(outbox)
        .where(
          and(
            eq(outbox.topic, "webhooks.deliver"),
            inArray(
              sql`${outbox.payload}->>'messageId'`,
              messages.map((m) => m.id),
            ),
          ),
        );
      expect(events.map((e) => (e.payload as { messageId: string }).messageId).sort()).toEqual(
        messages.map((m) => m.id).sort(),
      );
      expect(events.every((e) => e.buildingId === home.id && e.correlationId === "corr-fan-out")).toBe(true);

      // Verified and answered 2xx (accepted() lists each webhook-id once; both carry this one).
      const got = await waitFor("both deliveries", () => {
        const d = receiver.deliveries.filter((x) => x.id === event.eventId && x.verified && x.status === 200);
        return d.length === 2 ? d : null;
      });
      expect(got.map((d) => d.path).sort()).toEqual(["/fan/platform", "/fan/wanted"]);
    } finally {
      await queue.close();
    }
  });

  it("a delivery redelivered after it succeeded sends nothing and records nothing", async () => {
    const ep = await endpoint(home, "/once");
    await dispatch(envelope(home, "Once"));
    const [msg] = await messagesOf([ep.id]);
    const first = await attemptDelivery(handlerCtx("webhooks.deliver", { messageId: msg!.id }), msg!.id, {
      maxAttempts: 6,
    });
    expect(first).toEqual({ kind: "delivered", status: 200 });
    const again = await attemptDelivery(handlerCtx("webhooks.deliver", { messageId: msg!.id }), msg!.id, {
      maxAttempts: 6,
    });
    expect(again).toEqual({ kind: "skipped", why: "already delivered" });
    expect(receiver.deliveries.filter((d) => d.path === "/once")).toHaveLength(1);
    expect(
      await db().select().from(webhookAttempts).where(eq(webhookAttempts.messageId, msg!.id)),
    ).toHaveLength(1);
  });

  it("reads the endpoint at each attempt: one disabled after the fan-out is not sent to; a rotated secret signs at once", async () => {
    const off = await endpoint(home, "/disabled-later");
    const rotated = await endpoint(home, "/rotated-later");
    await dispatch(envelope(home, "Later"));
    const [offMsg] = await messagesOf([off.id]);
    const [rotMsg] = await messagesOf([rotated.id]);

    await db().update(webhookEndpoints).set({ active: false }).where(eq(webhookEndpoints.id, off.id));
    const skipped = await attemptDelivery(handlerCtx("webhooks.deliver", {}), offMsg!.id, { maxAttempts: 6 });
    expect(skipped).toEqual({ kind: "skipped", why: "endpoint disabled" });
    expect(receiver.deliveries.filter((d) => d.path === "/disabled-later")).toHaveLength(0);
    const [offAfter] = await messagesOf([off.id]);
    expect(offAfter).toMatchObject({ status: "failed", lastError: "endpoint disabled", attempts: 0 });

    const next = generateSecret();
    await db()
      .update(webhookEndpoints)
      .set({
        secret: next,
        previousSecret: rotated.secret,
        previousSecretExpiresAt: new Date(Date.now() + ROTATION_OVERLAP_MS),
      })
      .where(eq(webhookEndpoints.id, rotated.id));
    const sent = await attemptDelivery(handlerCtx("webhooks.deliver", {}), rotMsg!.id, { maxAttempts: 6 });
    expect(sent.kind).toBe("delivered");
    const d = receiver.deliveries.find((x) => x.path === "/rotated-later")!;
    expect(d.signature.split(" ")).toHaveLength(2);
    expect(new Webhook(next).verify(d.body, d.headers)).toBeTruthy();
    expect(new Webhook(rotated.secret).verify(d.body, d.headers)).toBeTruthy();

    // Once the overlap is over, only the current secret signs.
    await db()
      .update(webhookEndpoints)
      .set({ previousSecretExpiresAt: new Date(Date.now() - 1000) })
      .where(eq(webhookEndpoints.id, rotated.id));
    await dispatch(envelope(home, "After the overlap"));
    const latest = (await messagesOf([rotated.id])).find((m) => m.status === "pending")!;
    await attemptDelivery(handlerCtx("webhooks.deliver", {}), latest.id, { maxAttempts: 6 });
    const last = receiver.deliveries.filter((x) => x.path === "/rotated-later").at(-1)!;
    expect(last.signature.split(" ")).toHaveLength(1);
    expect(new Webhook(next).verify(last.body, last.headers)).toBeTruthy();
  });

  it("each attempt records its status, the first 1 KB of the answer and its error; the message its last outcome", async () => {
    const ep = await endpoint(home, "/recorded");
    await db()
      .update(webhookEndpoints)
      .set({ failingSince: new Date(Date.now() - 60_000) })
      .where(eq(webhookEndpoints.id, ep.id));
    await dispatch(envelope(home, "Recorded"));
    const [msg] = await messagesOf([ep.id]);
    let calls = 0;
    receiver.respond = (d) =>
      d.path !== "/recorded"
        ? { status: 200 }
        : ++calls === 1
          ? { status: 503, body: "é".repeat(3000) }
          : { status: 204 };

    const failed = await attemptDelivery(handlerCtx("webhooks.deliver", {}), msg!.id, { maxAttempts: 2 });
    expect(failed).toMatchObject({ kind: "failed", status: 503, error: "HTTP 503", final: false });
    const [pending] = await messagesOf([ep.id]);
    expect(pending).toMatchObject({
      status: "pending",
      attempts: 1,
      lastStatusCode: 503,
      lastError: "HTTP 503",
    });
    expect(pending!.deliveredAt).toBeNull();

    const delivered = await attemptDelivery(handlerCtx("webhooks.deliver", {}), msg!.id, { maxAttempts: 2 });
    expect(delivered).toEqual({ kind: "delivered", status: 204 });
    const [done] = await messagesOf([ep.id]);
    expect(done).toMatchObject({ status: "succeeded", attempts: 2, lastStatusCode: 204, lastError: null });
    expect(done!.deliveredAt).toBeInstanceOf(Date);
    const attempts = await db()
      .select()
      .from(webhookAttempts)
      .where(eq(webhookAttempts.messageId, msg!.id))
      .orderBy(webhookAttempts.attempt);
    expect(attempts.map((a) => [a.attempt, a.statusCode, a.error, a.endpointId])).toEqual([
      [1, 503, "HTTP 503", ep.id],
      [2, 204, null, ep.id],
    ]);
    // The first 1 KB (bytes) of the answer, decoded: 512 two-byte characters.
    expect(attempts[0]!.responseBody).toBe("é".repeat(512));
    expect(attempts[1]!.responseBody).toBe("");
    // A success after failures clears the endpoint's failing streak.
    const [after] = await db().select().from(webhookEndpoints).where(eq(webhookEndpoints.id, ep.id));
    expect(after!.failingSince).toBeNull();
  });

  it("the last attempt's failure is final and marks the message failed", async () => {
    const ep = await endpoint(home, "/final");
    await dispatch(envelope(home, "Final"));
    const [msg] = await messagesOf([ep.id]);
    receiver.respond = (d) => (d.path === "/final" ? { status: 500, body: "no" } : { status: 200 });
    const outcome = await attemptDelivery(handlerCtx("webhooks.deliver", {}), msg!.id, { maxAttempts: 1 });
    expect(outcome).toMatchObject({ kind: "failed", final: true });
    const [after] = await messagesOf([ep.id]);
    expect(after).toMatchObject({ status: "failed", attempts: 1, lastStatusCode: 500 });
  });
});
