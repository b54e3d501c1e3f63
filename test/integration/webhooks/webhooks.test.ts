/**
 * Webhooks end to end on the real app, the in-process queue and both databases, against a
 * receiver that verifies every delivery with the reference `standardwebhooks` library. Only
 * loopback is ever contacted: the receiver is allowlisted by host:port (OUTBOUND_ALLOW_HOSTS), and
 * every refused target is refused before a socket opens.
 */
import { and, eq, sql } from "drizzle-orm";
import { Webhook } from "standardwebhooks";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { outbox } from "../../../src/db/schema";
import { inboxNotifications } from "../../../src/modules/notifications/tables";
import { policyFor } from "../../../src/modules/outbox/policies";
import { signedHeaders } from "../../../src/modules/webhooks/signing";
import { webhookAttempts, webhookEndpoints, webhookMessages } from "../../../src/modules/webhooks/tables";
import { resolveHost } from "../../../src/platform/net/pinned-fetch";
import { setDefaultResolver } from "../../../src/platform/net/ssrf";
import type { InProcessQueue } from "../../../src/platform/queue/in-process";
import { startInProcessQueue } from "../../../workers/outbox-queue";
import { createTestApp, type TestApp } from "../../support/app";
import { DB_KINDS } from "../../support/db";
import { createBuilding, createUser, type TestBuilding } from "../../support/fixtures";
import { waitFor } from "../../support/wait";
import { startTrap, startWebhookReceiver, type WebhookReceiver } from "../../support/webhook-receiver";

const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});

// The seed's schedule shape (5 retries), with short delays so a test waits milliseconds.
const shortPolicies = (topic: string) =>
  topic.startsWith("webhooks.") ? { retries: 5, delaysMs: [20, 20, 20, 20, 20] } : policyFor(topic);

describe.each(DB_KINDS)("webhooks on %s", (kind) => {
  let t: TestApp;
  let queue: InProcessQueue;
  let receiver: WebhookReceiver;
  let b: TestBuilding;
  const api = (path: string) => `/api/v1${path}`;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    t = await createTestApp({
      db: kind,
      env: {
        OUTBOUND_ALLOW_HOSTS: `127.0.0.1:${receiver.port}`,
        WEBHOOK_BREAKER_OPEN_MS: "400",
        OUTBOX_POLL_MS: "50",
        RATE_LIMIT_ENABLED: "false",
      },
    });
    queue = startInProcessQueue(t.services, { policies: shortPolicies, pollMs: 50 });
  });
  afterAll(async () => {
    await queue.close();
    await receiver.close();
    await t.close();
  });
  afterEach(() => {
    receiver.respond = () => ({ status: 200, body: "ok" });
  });

  async function register(building: TestBuilding, body: Record<string, unknown>) {
    const res = await t.request(
      api(`/buildings/${building.id}/webhooks/endpoints`),
      json(body, building.manager.auth),
    );
    return { res, body: (await res.json()) as Record<string, any> };
  }

  async function endpointFor(building: TestBuilding, path: string, eventTypes = ["maintenance.created"]) {
    const { res, body } = await register(building, {
      url: receiver.url(path),
      eventTypes,
      description: "test",
    });
    expect(res.status).toBe(201);
    receiver.secrets.push(body.secret);
    return body as { id: string; secret: string };
  }

  async function openRequest(building: TestBuilding, correlationId: string, title = "Leaking tap") {
    const res = await t.request(
      api(`/buildings/${building.id}/requests`),
      json({ title }, { ...building.resident.auth, "x-correlation-id": correlationId }),
    );
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string };
  }

  const messagesOf = (endpointId: string) =>
    t.services.database.db.select().from(webhookMessages).where(eq(webhookMessages.endpointId, endpointId));
  const attemptsOf = (endpointId: string) =>
    t.services.database.db
      .select()
      .from(webhookAttempts)
      .where(eq(webhookAttempts.endpointId, endpointId))
      .orderBy(webhookAttempts.createdAt);

  it("done when: a manager's receiver gets a verified delivery of a resident's request, same webhook-id as the event, correlation id from the API log line", async () => {
    b = await createBuilding(t.services);
    const ep = await endpointFor(b, "/done-when");
    expect(ep.secret).toMatch(/^whsec_[A-Za-z0-9+/]{40,}={0,2}$/);
    const request = await openRequest(b, "corr-webhook-done-1");

    const got = await waitFor("the verified delivery", () =>
      receiver.accepted().find((d) => d.path === "/done-when" && d.verified?.data.requestId === request.id),
    );
    expect(got.verified).toMatchObject({
      type: "maintenance.created",
      data: { requestId: request.id, title: "Leaking tap", requesterId: b.resident.id },
    });
    // webhook-id is the domain event's id: the one recorded in the outbox by the write.
    const [dispatch] = await t.services.database.db
      .select()
      .from(outbox)
      .where(
        and(
          eq(outbox.topic, "webhooks.dispatch"),
          sql`${outbox.payload}->'data'->>'requestId' = ${request.id}`,
        ),
      );
    expect((dispatch!.payload as { eventId: string }).eventId).toBe(got.id);
    // The correlation id of the API request rides to the receiver and sits in the API's log line.
    expect(got.headers["x-correlation-id"]).toBe("corr-webhook-done-1");
    expect(
      t.logs.some(
        (l) =>
          l.correlationId === "corr-webhook-done-1" && String(l.path ?? l.url ?? "").includes("/requests"),
      ),
    ).toBe(true);
    // The sender records the answer after the receiver has sent it.
    const msg = await waitFor("the delivery recorded", async () => {
      const [m] = await messagesOf(ep.id);
      return m?.status === "succeeded" ? m : null;
    });
    expect(msg).toMatchObject({
      eventId: got.id,
      status: "succeeded",
      attempts: 1,
      correlationId: "corr-webhook-done-1",
    });
    // Each attempt's status and the first 1 KB of the answer are kept; the list routes show them.
    const deliveries = await t.request(api(`/buildings/${b.id}/webhooks/endpoints/${ep.id}/deliveries`), {
      headers: b.manager.auth,
    });
    expect(deliveries.status).toBe(200);
    const page = (await deliveries.json()) as {
      data: Array<{ id: string; eventId: string; status: string }>;
    };
    expect(page.data[0]).toMatchObject({ eventId: got.id, status: "succeeded" });
    const attempts = await t.request(
      api(`/buildings/${b.id}/webhooks/endpoints/${ep.id}/deliveries/${page.data[0]!.id}/attempts`),
      { headers: b.manager.auth },
    );
    expect(((await attempts.json()) as { data: unknown[] }).data).toEqual([
      expect.objectContaining({ attempt: 1, statusCode: 200, responseBody: "ok", error: null }),
    ]);
  });

  it("a stale (> 5 min) or replayed delivery is rejected by the reference verifier", async () => {
    const secret = receiver.secrets[0]!;
    const body = JSON.stringify({ type: "ping", timestamp: new Date().toISOString(), data: {} });
    const stale = await signedHeaders({
      id: crypto.randomUUID(),
      timestamp: Math.floor(Date.now() / 1000) - 6 * 60,
      body,
      secrets: [secret],
    });
    expect(() => new Webhook(secret).verify(body, { ...stale })).toThrow(/too old/i);
    const fresh = await signedHeaders({
      id: crypto.randomUUID(),
      timestamp: Math.floor(Date.now() / 1000),
      body,
      secrets: [secret],
    });
    expect(new Webhook(secret).verify(body, { ...fresh })).toBeTruthy();
    // A captured delivery sent again verbatim is refused by the receiver (replay).
    const captured = receiver.accepted()[0]!;
    const res = await fetch(receiver.url(captured.path), {
      method: "POST",
      headers: captured.headers,
      body: captured.body,
    });
    expect(res.status).toBe(409);
  });

  it("refuses private, loopback, link-local, mapped and loopback-resolving targets at registration with 400 problem+json", async () => {
    const building = await createBuilding(t.services);
    const trap = await startTrap();
    for (const url of [
      "https://127.0.0.1/hook",
      `https://127.0.0.1:${trap.port}/hook`,
      `http://127.0.0.1:${trap.port}/hook`,
      "https://[::1]/hook",
      "https://169.254.169.254/latest/meta-data/",
      "https://10.0.0.1/hook",
      "https://[::ffff:127.0.0.1]/hook",
      "https://localhost/hook",
      "http://example.com/hook",
    ]) {
      const { res, body } = await register(building, { url, eventTypes: ["maintenance.created"] });
      expect(res.status, url).toBe(400);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
      expect(body).toMatchObject({ code: "BAD_REQUEST", status: 400 });
      expect(body.correlationId).toBeTruthy();
      expect(body.detail, url).toMatch(/refused|not allowed/);
    }
    expect(trap.hits()).toBe(0);
    await trap.close();
  });

  it("checks again at delivery: a name that now resolves to loopback is a non-retried failure, nothing contacted", async () => {
    const building = await createBuilding(t.services);
    const trap = await startTrap();
    let flips = 0;
    setDefaultResolver(async (host) => {
      if (host !== "rebind.example") return resolveHost(host);
      return ++flips === 1 ? ["93.184.216.34"] : ["127.0.0.1"];
    });
    try {
      const { res, body } = await register(building, {
        url: "https://rebind.example/hook",
        eventTypes: ["maintenance.created"],
      });
      expect(res.status).toBe(201);
      await openRequest(building, "corr-webhook-rebind");
      const [msg] = await waitFor("the refused message", async () => {
        const rows = await messagesOf(body.id);
        return rows[0]?.status === "failed" ? rows : null;
      });
      expect(msg!.attempts).toBe(1);
      expect(msg!.lastError).toMatch(/refused \(private_address\)/);
      // Dead after its first attempt: no retry can make the target acceptable.
      const row = await waitFor("the dead delivery event", async () => {
        const [r] = await t.services.database.db
          .select()
          .from(outbox)
          .where(
            and(eq(outbox.topic, "webhooks.deliver"), sql`${outbox.payload}->>'messageId' = ${msg!.id}`),
          );
        return r?.deadAt ? r : null;
      });
      expect(row.attempts).toBe(1);
    } finally {
      setDefaultResolver(resolveHost);
      await trap.close();
    }
    expect(trap.hits()).toBe(0);
  });

  it("never follows a redirect (to loopback): 302 is a failure, the target is never contacted", async () => {
    const building = await createBuilding(t.services);
    const trap = await startTrap();
    const ep = await endpointFor(building, "/redirect");
    receiver.respond = (d) =>
      d.path === "/redirect"
        ? { status: 302, headers: { location: `http://127.0.0.1:${trap.port}/` } }
        : { status: 200 };
    await openRequest(building, "corr-webhook-302");
    const attempts = await waitFor("two attempts", async () => {
      const rows = await attemptsOf(ep.id);
      return rows.length >= 2 ? rows : null;
    });
    expect(attempts[0]).toMatchObject({ statusCode: 302, error: "HTTP 302" });
    expect(trap.hits()).toBe(0);
    await trap.close();
  });

  it("410 Gone disables the endpoint at once, without retries", async () => {
    const building = await createBuilding(t.services);
    const ep = await endpointFor(building, "/gone");
    receiver.respond = (d) => (d.path === "/gone" ? { status: 410, body: "gone" } : { status: 200 });
    await openRequest(building, "corr-webhook-410");
    const endpoint = await waitFor("the endpoint disabled", async () => {
      const [row] = await t.services.database.db
        .select()
        .from(webhookEndpoints)
        .where(eq(webhookEndpoints.id, ep.id));
      return row && !row.active ? row : null;
    });
    expect(endpoint.disabledReason).toBe("gone");
    // Its owner hears about it (a critical `alert` notification in their inbox).
    const notice = await waitFor("the owner's notification", async () => {
      const [row] = await t.services.database.db
        .select()
        .from(inboxNotifications)
        .where(and(eq(inboxNotifications.userId, building.manager.id), eq(inboxNotifications.type, "alert")));
      return row;
    });
    expect(notice.body).toContain("/gone");
    expect(await attemptsOf(ep.id)).toHaveLength(1);
    expect((await messagesOf(ep.id))[0]).toMatchObject({ status: "failed", lastStatusCode: 410 });
    // Events after that are not sent to it.
    await openRequest(building, "corr-webhook-410b");
    await new Promise((r) => setTimeout(r, 300));
    expect(await attemptsOf(ep.id)).toHaveLength(1);
  });

  it("opens the breaker after 5 failures, holds the event without burning attempts, and delivers it once the receiver recovers", async () => {
    const building = await createBuilding(t.services);
    const ep = await endpointFor(building, "/flaky");
    let failures = 0;
    receiver.respond = (d) => {
      if (d.path !== "/flaky") return { status: 200 };
      return failures++ < 5 ? { status: 503, body: "down" } : { status: 200, body: "back" };
    };
    await openRequest(building, "corr-webhook-breaker");
    const health = await waitFor("the open breaker in the health summary", async () => {
      const res = await t.request(api(`/buildings/${building.id}/webhooks/endpoints/${ep.id}/health`), {
        headers: building.manager.auth,
      });
      const h = (await res.json()) as { breaker: { state: string } };
      return h.breaker.state === "open" ? h : null;
    });
    expect(health).toMatchObject({ active: true, lastError: { statusCode: 503 } });
    const [held] = await messagesOf(ep.id);
    expect(["held", "pending"]).toContain(held!.status);
    const delivered = await waitFor("the delivery after recovery", async () => {
      const [m] = await messagesOf(ep.id);
      return m?.status === "succeeded" ? m : null;
    });
    expect(delivered.attempts).toBe(6);
    const attempts = await attemptsOf(ep.id);
    expect(attempts.map((a) => a.statusCode)).toEqual([503, 503, 503, 503, 503, 200]);
    expect(receiver.accepted().filter((d) => d.path === "/flaky")).toHaveLength(1);
    const res = await t.request(api(`/buildings/${building.id}/webhooks/endpoints/${ep.id}/health`), {
      headers: building.manager.auth,
    });
    const h = (await res.json()) as { successRate: number; breaker: { state: string } };
    expect(h.successRate).toBeCloseTo(1 / 6, 5);
    expect(h.breaker.state).not.toBe("open");
    // The open breaker and the 5xx burst raised (throttled) alerts.
    const alerts = t.logs.filter((l) => l.event === "alert").map((l) => l.key);
    expect(alerts).toContain(`webhook-breaker:${ep.id}`);
    expect(alerts).toContain(`webhook-5xx:${ep.id}`);
  });

  it("an endpoint failing for 5 days is disabled and its owner told", async () => {
    const building = await createBuilding(t.services);
    const ep = await endpointFor(building, "/failing");
    await t.services.database.db
      .update(webhookEndpoints)
      .set({ failingSince: new Date(Date.now() - 5 * 24 * 3600 * 1000 - 60_000) })
      .where(eq(webhookEndpoints.id, ep.id));
    receiver.respond = (d) => (d.path === "/failing" ? { status: 500 } : { status: 200 });
    await openRequest(building, "corr-webhook-5days");
    const endpoint = await waitFor("the endpoint disabled", async () => {
      const [row] = await t.services.database.db
        .select()
        .from(webhookEndpoints)
        .where(eq(webhookEndpoints.id, ep.id));
      return row && !row.active ? row : null;
    });
    expect(endpoint.disabledReason).toBe("failing");
    expect(await attemptsOf(ep.id)).toHaveLength(1);
    await waitFor("the owner's notification", async () => {
      const [row] = await t.services.database.db
        .select()
        .from(inboxNotifications)
        .where(and(eq(inboxNotifications.userId, building.manager.id), eq(inboxNotifications.type, "alert")));
      return row;
    });
    // Turned back on by hand: a fresh start.
    const res = await t.request(api(`/buildings/${building.id}/webhooks/endpoints/${ep.id}`), {
      method: "PATCH",
      headers: { ...building.manager.auth, "content-type": "application/json" },
      body: JSON.stringify({ active: true }),
    });
    expect(await res.json()).toMatchObject({ active: true, disabledReason: null, failingSince: null });
  });

  it("replays one delivery and every failed one since a time, with the same webhook-id", async () => {
    const building = await createBuilding(t.services);
    const ep = await endpointFor(building, "/replay");
    await openRequest(building, "corr-webhook-replay");
    const first = await waitFor("the first delivery", () =>
      receiver.accepted().find((d) => d.path === "/replay"),
    );
    const msg = await waitFor("the delivery recorded", async () => {
      const [m] = await messagesOf(ep.id);
      return m?.status === "succeeded" ? m : null;
    });
    // A replay signed in the same second as the first delivery would be byte-identical, which a
    // strict receiver (this one) refuses as a replay attack: an operator's replay comes later.
    await waitFor("the next second", () => Math.floor(Date.now() / 1000) > first.timestamp);
    const base = api(`/buildings/${building.id}/webhooks/endpoints/${ep.id}`);
    const res = await t.request(`${base}/deliveries/${msg!.id}/replay`, {
      method: "POST",
      headers: building.manager.auth,
    });
    expect(res.status).toBe(202);
    const again = await waitFor("the replayed delivery", () =>
      receiver.deliveries.find(
        (d) => d.path === "/replay" && d.id === first.id && d.signature !== first.signature,
      ),
    );
    expect(again.verified).toEqual(first.verified);

    // Failing for good (every retry), then replayed from the API once the receiver is fixed.
    const since = new Date(Date.now() - 1000).toISOString();
    receiver.respond = (d) => (d.path === "/replay" ? { status: 500 } : { status: 200 });
    const second = await openRequest(building, "corr-webhook-replay-2", "Broken window");
    await waitFor("the failed message", async () =>
      (await messagesOf(ep.id)).find((m) => m.status === "failed" && m.body.includes(second.id)),
    );
    receiver.respond = () => ({ status: 200 });
    // Held ones are still in flight: wait for the breaker to let go before replaying.
    const replay = await t.request(`${base}/replay`, json({ since }, building.manager.auth));
    expect(replay.status).toBe(202);
    expect(await replay.json()).toEqual({ replayed: 1 });
    await waitFor("the replayed failed event", () =>
      receiver.accepted().find((d) => d.path === "/replay" && d.verified?.data.requestId === second.id),
    );
  });

  it("rotation: for 24 h deliveries carry both signatures; a receiver on either secret verifies", async () => {
    const building = await createBuilding(t.services);
    const ep = await endpointFor(building, "/rotate", ["maintenance.created", "maintenance.status_changed"]);
    const res = await t.request(api(`/buildings/${building.id}/webhooks/endpoints/${ep.id}/rotate-secret`), {
      method: "POST",
      headers: building.manager.auth,
    });
    expect(res.status).toBe(200);
    const rotated = (await res.json()) as { secret: string; previousSecretExpiresAt: string };
    expect(rotated.secret).not.toBe(ep.secret);
    expect(Date.parse(rotated.previousSecretExpiresAt) - Date.now()).toBeGreaterThan(23 * 3600 * 1000);
    const request = await openRequest(building, "corr-webhook-rotate");
    const d = await waitFor("the delivery after rotation", () =>
      receiver.accepted().find((x) => x.path === "/rotate" && x.verified?.data.requestId === request.id),
    );
    expect(d.signature.split(" ")).toHaveLength(2);
    expect(new Webhook(ep.secret).verify(d.body, d.headers)).toBeTruthy();
    expect(new Webhook(rotated.secret).verify(d.body, d.headers)).toBeTruthy();
    // The GET never shows a secret.
    const get = await t.request(api(`/buildings/${building.id}/webhooks/endpoints/${ep.id}`), {
      headers: building.manager.auth,
    });
    expect(JSON.stringify(await get.json())).not.toContain("whsec_");
  });

  it("ping, event catalogue, platform endpoints and access rules", async () => {
    const building = await createBuilding(t.services);
    const ep = await endpointFor(building, "/ping");
    const ping = await t.request(api(`/buildings/${building.id}/webhooks/endpoints/${ep.id}/ping`), {
      method: "POST",
      headers: building.manager.auth,
    });
    expect(ping.status).toBe(202);
    const got = await waitFor("the ping", () => receiver.accepted().find((d) => d.path === "/ping"));
    expect(got.verified).toMatchObject({ type: "ping", data: { endpointId: ep.id } });

    const types = await t.request(api("/webhooks/event-types"), { headers: building.resident.auth });
    const list = (await types.json()) as { data: Array<{ type: string }> };
    expect(list.data.map((x) => x.type)).toEqual(
      expect.arrayContaining(["maintenance.created", "payment.recorded", "ping"]),
    );

    // Residents cannot manage webhooks; another building's manager does not see them.
    const resident = await register(
      { ...building, manager: building.resident },
      { url: receiver.url("/x"), eventTypes: ["maintenance.created"] },
    );
    expect(resident.res.status).toBe(403);
    const other = await createBuilding(t.services);
    const cross = await t.request(api(`/buildings/${other.id}/webhooks/endpoints/${ep.id}`), {
      headers: other.manager.auth,
    });
    expect(cross.status).toBe(404);

    // A platform endpoint hears every building.
    const admin = await createUser(t.services, { admin: true });
    const created = await t.request(
      api("/admin/webhooks/endpoints"),
      json({ url: receiver.url("/platform"), eventTypes: ["maintenance.created"] }, admin.auth),
    );
    expect(created.status).toBe(201);
    receiver.secrets.push(((await created.json()) as { secret: string }).secret);
    const request = await openRequest(other, "corr-webhook-platform");
    await waitFor("the platform delivery", () =>
      receiver.accepted().find((d) => d.path === "/platform" && d.verified?.data.requestId === request.id),
    );
    const forbidden = await t.request(api("/admin/webhooks/endpoints"), { headers: building.manager.auth });
    expect(forbidden.status).toBe(403);
  });

  it("the OpenAPI document lists the catalogue in its webhooks section", async () => {
    const doc = (await (await t.request("/openapi.json")).json()) as { webhooks: Record<string, any> };
    expect(Object.keys(doc.webhooks)).toEqual(
      expect.arrayContaining(["maintenance.created", "member.joined", "ping"]),
    );
    const op = doc.webhooks["maintenance.created"].post;
    expect(op.parameters.map((p: { name: string }) => p.name)).toEqual([
      "webhook-id",
      "webhook-timestamp",
      "webhook-signature",
    ]);
  });
});
