/**
 * Property 36 of the design seed over the real app (PGlite), the real outbox consumer with the
 * seed's `webhooks` schedule and a receiver verifying with the reference `standardwebhooks`
 * library. The sender runs on a test clock that the loop moves to the next due event, so the
 * webhook-timestamp of consecutive attempts shows the schedule exactly (1, 2, 4, 8 s).
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordDomainEvent } from "../../../src/modules/events";
import { createOutboxConsumer } from "../../../src/modules/outbox/consumer";
import { policyFor } from "../../../src/modules/outbox/policies";
import { DOMAIN_EVENT_TYPES, type DomainEventType } from "../../../src/protocol/events";
import { createTestApp, type TestApp } from "../../support/app";
import { createBuilding, type TestBuilding, tokenFor } from "../../support/fixtures";
import { startWebhookReceiver, type WebhookReceiver } from "../../support/webhook-receiver";

const u = () => crypto.randomUUID();

/** Valid data for each type (the property varies the text fields). */
function sampleData(type: DomainEventType, title: string): Record<string, unknown> {
  switch (type) {
    case "announcement.published":
      return {
        announcementId: u(),
        title,
        priority: "normal",
        authorId: u(),
        publishedAt: new Date().toISOString(),
      };
    case "announcement.updated":
      return { announcementId: u(), title, priority: "urgent", authorId: u() };
    case "announcement.deleted":
      return { announcementId: u() };
    case "maintenance.created":
      return { requestId: u(), title, category: null, priority: "high", requesterId: u(), apartmentId: u() };
    case "maintenance.status_changed":
      return {
        requestId: u(),
        title,
        from: "open",
        to: "in_progress",
        requesterId: u(),
        assigneeId: null,
        changedBy: u(),
      };
    case "maintenance.commented":
      return {
        requestId: u(),
        commentId: u(),
        title,
        authorId: u(),
        requesterId: u(),
        assigneeId: null,
        excerpt: title.slice(0, 280),
      };
    case "payment.recorded":
      return { paymentId: u(), apartmentId: null, amountMinor: 12345, currency: "ILS", paidAt: null };
    case "payment.due":
      return { paymentId: u(), apartmentId: u(), amountMinor: 500, currency: "EUR", dueDate: "2026-12-31" };
    case "member.joined":
      return { memberId: u(), userId: u(), role: "resident", apartmentId: null, invited: true };
    case "member.left":
      return { memberId: u(), userId: u() };
    case "sync.conflict":
      return {
        conflictId: u(),
        userId: u(),
        entity: "apartments",
        rowId: u(),
        field: "notes",
        theirs: JSON.stringify(title),
        winner: null,
      };
  }
}

describe("webhook delivery properties", () => {
  let t: TestApp;
  let receiver: WebhookReceiver;
  let home: TestBuilding;
  let elsewhere: TestBuilding;
  let clockMs = Date.now();
  const failuresByPath = new Map<string, number>();
  const consumer = () => createOutboxConsumer(t.services);

  beforeAll(async () => {
    receiver = await startWebhookReceiver({ now: () => clockMs });
    receiver.respond = (d) => {
      const left = failuresByPath.get(d.path) ?? 0;
      if (left > 0) {
        failuresByPath.set(d.path, left - 1);
        return { status: 500, body: "not yet" };
      }
      return { status: 204 };
    };
    t = await createTestApp({
      db: "pglite",
      clock: { now: () => new Date(clockMs) },
      env: { OUTBOUND_ALLOW_HOSTS: `127.0.0.1:${receiver.port}`, RATE_LIMIT_ENABLED: "false" },
    });
    home = await createBuilding(t.services);
    elsewhere = await createBuilding(t.services);
  });
  afterAll(async () => {
    await receiver.close();
    await t.close();
  });

  // Tokens signed on the test clock, which runs ahead of real time as the retries are waited out.
  const managerAuth = async (building: TestBuilding) => ({
    authorization: `Bearer ${await tokenFor(t.services, building.manager.id)}`,
  });

  async function register(building: TestBuilding, path: string, eventTypes: DomainEventType[]) {
    const res = await t.request(`/api/v1/buildings/${building.id}/webhooks/endpoints`, {
      method: "POST",
      headers: { ...(await managerAuth(building)), "content-type": "application/json" },
      body: JSON.stringify({ url: receiver.url(path), eventTypes }),
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { id: string; secret: string };
    receiver.secrets.push(body.secret);
    return body;
  }

  /** Runs the outbox until nothing is pending, moving the clock to each next due instant. */
  async function runOutbox() {
    const c = consumer();
    for (let round = 0; round < 200; round++) {
      if ((await c.drainDue({ limit: 500 })) > 0) continue;
      const next = await c.nextDueAt();
      if (!next) return;
      clockMs = Math.max(clockMs, next.getTime());
    }
    throw new Error("the outbox did not settle");
  }

  it("Property 36: Webhook event delivery", async () => {
    const delaysS = policyFor("webhooks.deliver").delaysMs.map((ms) => ms / 1000);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...DOMAIN_EVENT_TYPES),
        fc.array(
          fc.record({
            types: fc.subarray([...DOMAIN_EVENT_TYPES], { minLength: 1 }),
            // Up to 4 failures: a fifth in a row opens the endpoint's breaker (tested on its own).
            failures: fc.integer({ min: 0, max: 4 }),
          }),
          { minLength: 1, maxLength: 3 },
        ),
        // Any Unicode text but C0 controls (PostgreSQL refuses \u0000 in JSON; see PLATFORM-FACTS).
        fc
          .string({ unit: "grapheme", minLength: 1, maxLength: 40 })
          .filter((s) => [...s].every((ch) => ch.codePointAt(0)! >= 0x20)),
        async (type, subscriptions, title) => {
          const run = u().slice(0, 8);
          const endpoints = [];
          for (const [i, s] of subscriptions.entries()) {
            const path = `/p36/${run}/${i}`;
            failuresByPath.set(path, s.failures);
            endpoints.push({ ...s, path, ...(await register(home, path, s.types)) });
          }
          // Another building's endpoint that wants everything hears nothing of this building.
          const outsider = await register(elsewhere, `/p36/${run}/outsider`, [...DOMAIN_EVENT_TYPES]);
          const data = sampleData(type, title);
          const envelope = await t.services.database.db.transaction((tx) =>
            recordDomainEvent(tx, {
              type,
              buildingId: home.id,
              actorId: null,
              data: data as never,
              occurredAt: new Date(clockMs),
            }),
          );
          await runOutbox();

          for (const ep of endpoints) {
            const got = receiver.deliveries.filter((d) => d.path === ep.path);
            if (!ep.types.includes(type)) {
              expect(got).toHaveLength(0);
              continue;
            }
            // Every attempt is signed validly (the reference library verified it) with this
            // endpoint's secret, under the event's id, carrying the event's payload.
            expect(got.map((d) => d.status)).toEqual([...Array(ep.failures).fill(500), 204]);
            for (const d of got) {
              expect(d.verified).toEqual({ type, timestamp: envelope.occurredAt, data });
              expect(d.id).toBe(envelope.eventId);
            }
            // Retries follow the schedule: 1, 2, 4, 8 s after each failure.
            const gaps = got.slice(1).map((d, i) => d.timestamp - got[i]!.timestamp);
            expect(gaps).toEqual(delaysS.slice(0, ep.failures));
          }
          expect(receiver.deliveries.filter((d) => d.path.endsWith(`${run}/outsider`))).toHaveLength(0);
          for (const ep of [...endpoints, outsider]) {
            await t.request(
              `/api/v1/buildings/${ep === outsider ? elsewhere.id : home.id}/webhooks/endpoints/${ep.id}`,
              {
                method: "DELETE",
                headers: await managerAuth(ep === outsider ? elsewhere : home),
              },
            );
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
