/**
 * Properties 16 and 17 of the design, on PGlite and PostgreSQL, through the real handler, the
 * real outbox consumer and the real delivery log. The providers are scripted (a PushProvider whose
 * answer per device and attempt the property draws), so any mix of outcomes is tried; the real
 * adapters against their protocol stand-ins are tested in test/integration/push.
 */
import { and, eq } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outbox, pushDeliveries, pushDevices } from "../../../src/db/schema";
import { systemContext } from "../../../src/modules/identity/accounts";
import { PUSH_TOPIC } from "../../../src/modules/notifications/push-contract";
import { recordEvent } from "../../../src/modules/outbox";
import { createOutboxConsumer } from "../../../src/modules/outbox/consumer";
import { policyFor } from "../../../src/modules/outbox/policies";
import { deliverToUser, PushRetryError } from "../../../src/modules/push/deliver";
import {
  createPushService,
  type PushDevice,
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
const PROVIDERS = ["fcm", "apns", "webpush"] as const;

/** A provider that answers each device's n-th call with the n-th scripted outcome (then "ok"). */
function scripted(
  scripts: Map<string, Outcome[]>,
  onCall: (device: PushDevice) => Promise<void> | void = () => {},
) {
  const calls = new Map<string, number>();
  const provider: PushProvider = {
    name: "log",
    async send(device) {
      await onCall(device);
      const n = calls.get(device.token) ?? 0;
      calls.set(device.token, n + 1);
      const outcome = scripts.get(device.token)?.[n] ?? "ok";
      if (outcome === "permanent") throw new PushPermanentError(device.provider, "Unregistered");
      if (outcome === "rejected") throw new PushRejectedError(device.provider, "PayloadTooLarge");
      if (outcome === "transient") throw new PushTransientError(device.provider, "ServiceUnavailable");
      return { messageId: `msg-${device.token}-${n + 1}` };
    },
  };
  return { provider, calls };
}

function serviceWith(provider: PushProvider) {
  // The breaker is a separate property (and test); here it must not step in.
  return createPushService({
    providers: { fcm: provider, apns: provider, webpush: provider },
    fallback: provider,
    breaker: { failureThreshold: Number.MAX_SAFE_INTEGER },
  });
}

describe.each(DB_KINDS)("push delivery properties on %s", (kind) => {
  let t: TestApp;
  let clockMs = Date.now();
  const clock: Clock = { now: () => new Date(clockMs) };

  beforeAll(async () => {
    t = await createTestApp({ db: kind, clock });
  });
  afterAll(async () => t?.close());

  async function devicesFor(userId: string, providers: ReadonlyArray<(typeof PROVIDERS)[number]>) {
    return t.services.database.db
      .insert(pushDevices)
      .values(
        providers.map((provider) => ({
          userId,
          provider,
          platform:
            provider === "apns"
              ? ("ios" as const)
              : provider === "webpush"
                ? ("web" as const)
                : ("android" as const),
          token: `tok-${crypto.randomUUID()}`,
        })),
      )
      .returning();
  }

  it("Property 16: Notification delivery tracking — every device of a sent notification has its status logged: queued while sending, then sent with the provider's id or failed with its error", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            fc.constantFrom(...PROVIDERS),
            fc.constantFrom<Outcome>("ok", "permanent", "rejected", "transient"),
          ),
          {
            minLength: 1,
            maxLength: 4,
          },
        ),
        async (plan) => {
          const user = await createUser(t.services);
          const bystander = await createUser(t.services);
          const devices = await devicesFor(
            user.id,
            plan.map(([p]) => p),
          );
          const [other] = await devicesFor(bystander.id, ["fcm"]);
          const scripts = new Map(devices.map((d, i) => [d.token, [plan[i]![1]]]));
          const notificationId = crypto.randomUUID();
          const pendingSeen: string[] = [];
          const { provider } = scripted(scripts, async (device) => {
            // While the provider holds the message, the log says it is on its way.
            const [row] = await t.services.database.db
              .select()
              .from(pushDeliveries)
              .where(
                and(
                  eq(pushDeliveries.notificationId, notificationId),
                  eq(pushDeliveries.deviceId, device.id),
                ),
              );
            if (row?.status === "queued") pendingSeen.push(device.id);
          });
          const ctx = {
            ...systemContext(t.services, "property-16"),
            services: { ...t.services, push: serviceWith(provider) },
          };
          const run = deliverToUser(ctx, {
            notificationId,
            userId: user.id,
            message: { title: "t", body: "b", data: {}, urgent: false },
          });
          const anyTransient = plan.some(([, o]) => o === "transient");
          if (anyTransient) await expect(run).rejects.toBeInstanceOf(PushRetryError);
          else await run;

          const log = await t.services.database.db
            .select()
            .from(pushDeliveries)
            .where(eq(pushDeliveries.notificationId, notificationId));
          expect(log).toHaveLength(devices.length);
          expect(log.some((r) => r.deviceId === other!.id)).toBe(false);
          expect(pendingSeen.sort()).toEqual(devices.map((d) => d.id).sort());
          const left = new Set(
            (
              await t.services.database.db.select().from(pushDevices).where(eq(pushDevices.userId, user.id))
            ).map((d) => d.id),
          );
          devices.forEach((device, i) => {
            const outcome = plan[i]![1];
            const row = log.find((r) => r.deviceId === device.id)!;
            expect(row).toMatchObject({ userId: user.id, provider: device.provider, attempts: 1 });
            if (outcome === "ok") {
              expect(row).toMatchObject({
                status: "sent",
                providerMessageId: `msg-${device.token}-1`,
                error: null,
              });
              expect(row.sentAt).not.toBeNull();
            } else {
              expect(row.status).toBe("failed");
              expect(row.error).toContain(
                outcome === "permanent"
                  ? "Unregistered"
                  : outcome === "rejected"
                    ? "PayloadTooLarge"
                    : "ServiceUnavailable",
              );
              expect(row.sentAt).toBeNull();
            }
            // A dead token is deleted at once; every other device stays.
            expect(left.has(device.id)).toBe(outcome !== "permanent");
          });
        },
      ),
      { numRuns: 100 },
    );
  });

  it("Property 17: Notification retry with exponential backoff — a failed delivery is retried up to 3 times, 1 s, 2 s then 4 s apart, and a retry resends only what was not sent", async () => {
    const policy = policyFor(PUSH_TOPIC);
    expect(policy.retries).toBe(3);
    const consumer = createOutboxConsumer(t.services);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 3 }),
        async (failures) => {
          const user = await createUser(t.services);
          const devices = await devicesFor(
            user.id,
            failures.map((_, i) => PROVIDERS[i % 3]!),
          );
          const scripts = new Map(
            devices.map((d, i) => [d.token, Array<Outcome>(failures[i]!).fill("transient")]),
          );
          const { provider, calls } = scripted(scripts);
          t.services.push = serviceWith(provider);
          const notificationId = crypto.randomUUID();
          clockMs = Date.now();
          const { id } = await recordEvent(t.services.database.db, {
            topic: PUSH_TOPIC,
            payload: {
              notificationId,
              userId: user.id,
              buildingId: null,
              type: "test",
              title: "t",
              body: "b",
              locale: "en",
              data: {},
              urgent: false,
            },
          });
          const delays: number[] = [];
          let runs = 0;
          for (;;) {
            await consumer.deliver(id);
            runs++;
            const [row] = await t.services.database.db.select().from(outbox).where(eq(outbox.id, id));
            expect(row!.attempts).toBe(runs);
            if (row!.dispatchedAt || row!.deadAt) break;
            delays.push(row!.availableAt.getTime() - clockMs);
            clockMs = row!.availableAt.getTime();
            expect(runs).toBeLessThan(10);
          }
          const worst = Math.max(...failures);
          // Up to 1 + 3 runs; each pause twice the one before it.
          expect(runs).toBe(Math.min(worst + 1, 1 + policy.retries));
          expect(delays).toEqual([1000, 2000, 4000].slice(0, runs - 1));
          const log = await t.services.database.db
            .select()
            .from(pushDeliveries)
            .where(eq(pushDeliveries.notificationId, notificationId));
          devices.forEach((device, i) => {
            const k = failures[i]!;
            const row = log.find((r) => r.deviceId === device.id)!;
            // Tried once per run until it went out, never again after.
            expect(calls.get(device.token)).toBe(Math.min(k + 1, runs));
            expect(row.attempts).toBe(Math.min(k + 1, runs));
            expect(row.status).toBe(k < runs ? "sent" : "failed");
          });
          const [final] = await t.services.database.db.select().from(outbox).where(eq(outbox.id, id));
          expect(Boolean(final!.deadAt)).toBe(worst >= runs);
        },
      ),
      { numRuns: 100 },
    );
  });
});
