/**
 * The SSE fallback (resumable with Last-Event-ID) and the client SDK (pokes → syncNow,
 * automatic fallback to SSE when WebSockets cannot connect) against the real standalone server.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { RealtimeClient } from "../../../src/client/realtime";
import { readSse, type SseMessage } from "../../../src/client/realtime/sse";
import { publishBuildingEvent } from "../../../src/modules/realtime";
import { createBuilding } from "../../support/fixtures";
import { type RealtimeServer, startRealtimeServer } from "./harness";

const until = async (cond: () => boolean, timeoutMs = 5000) => {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe("SSE fallback and client SDK", () => {
  let s: RealtimeServer;
  beforeAll(async () => {
    s = await startRealtimeServer("pglite");
  });
  afterAll(() => s?.close());

  async function stream(buildingId: string, auth: Record<string, string>, lastEventId?: string) {
    const abort = new AbortController();
    const res = await fetch(`${s.base}/api/v1/buildings/${buildingId}/events?deviceId=web`, {
      headers: { ...auth, ...(lastEventId ? { "last-event-id": lastEventId } : {}) },
      signal: abort.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const messages: SseMessage[] = [];
    void readSse(res.body!, (m) => messages.push(m)).catch(() => {});
    return { messages, close: () => abort.abort() };
  }

  it("streams events and presence, and resumes from Last-Event-ID", async () => {
    const b = await createBuilding(s.t.services);
    const first = await stream(b.id, b.resident.auth);
    await until(() => first.messages.some((m) => m.event === "presence.list"));
    const event = {
      kind: "announcement.posted" as const,
      announcementId: crypto.randomUUID(),
      title: "Water off",
      priority: "important" as const,
      authorId: b.manager.id,
    };
    await publishBuildingEvent(s.t.services, b.id, event);
    await until(() => first.messages.some((m) => m.event === "event"));
    const seen = first.messages.find((m) => m.event === "event")!;
    expect(JSON.parse(seen.data)).toMatchObject({ type: "event", buildingId: b.id, event });
    first.close();

    // Missed while disconnected: a write through the API (poke) and a payment event.
    const res = await fetch(`${s.base}/api/v1/buildings/${b.id}/apartments`, {
      method: "POST",
      headers: { ...b.manager.auth, "content-type": "application/json" },
      body: JSON.stringify({ number: "7" }),
    });
    expect(res.status).toBe(201);
    await publishBuildingEvent(s.t.services, b.id, {
      kind: "payment.recorded",
      paymentId: crypto.randomUUID(),
      apartmentId: null,
      amountMinor: 12_000,
      currency: "ILS",
    });
    const resumed = await stream(b.id, b.resident.auth, seen.id!);
    await until(() => resumed.messages.some((m) => m.event === "event"));
    const types = resumed.messages.filter((m) => m.id && Number(m.id) > Number(seen.id)).map((m) => m.event);
    expect(types).toContain("poke");
    expect(types).toContain("event");
    expect(resumed.messages.some((m) => m.id === seen.id)).toBe(false);
    resumed.close();

    // An id older than the building's log: told to resync.
    const stale = await stream(b.id, b.resident.auth, "1");
    await until(() => stale.messages.some((m) => m.event === "resync"));
    stale.close();
  });

  it("refuses the stream to non-members and without a token", async () => {
    const b = await createBuilding(s.t.services);
    const other = await createBuilding(s.t.services);
    expect((await fetch(`${s.base}/api/v1/buildings/${b.id}/events`)).status).toBe(401);
    expect(
      (await fetch(`${s.base}/api/v1/buildings/${b.id}/events`, { headers: other.manager.auth })).status,
    ).toBe(404);
  });

  it("client SDK: a poke makes the sync client pull, and presence reaches other clients", async () => {
    const b = await createBuilding(s.t.services);
    // Pulls per client, so "both pulled" cannot be one client pulling twice.
    const pulls: Record<string, number> = { phone: 0, desk: 0 };
    const make = (token: string, deviceId: string) =>
      new RealtimeClient({
        apiBaseUrl: s.base,
        buildingId: b.id,
        deviceId,
        getAccessToken: () => token,
        WebSocket,
        sync: { syncNow: async () => void pulls[deviceId]!++ },
      }).connect();
    const a = make(b.resident.token, "phone");
    const c = make(b.manager.token, "desk");
    try {
      await until(() => a.transport === "websocket" && c.transport === "websocket");
      await until(() => a.presence.some((m) => m.userId === b.manager.id));
      expect(a.presence.map((m) => m.deviceId)).toContain("desk");
      const before = { ...pulls };
      const posted = await fetch(`${s.base}/api/v1/buildings/${b.id}/apartments`, {
        method: "POST",
        headers: { ...b.manager.auth, "content-type": "application/json" },
        body: JSON.stringify({ number: "9" }),
      });
      expect(posted.status).toBe(201);
      await until(() => pulls.phone! > before.phone! && pulls.desk! > before.desk!).catch(() => {});
      expect(pulls.phone).toBeGreaterThan(before.phone!);
      expect(pulls.desk).toBeGreaterThan(before.desk!);
    } finally {
      a.close();
      c.close();
    }
  });

  it("client SDK: falls back to SSE when WebSockets cannot connect", async () => {
    const b = await createBuilding(s.t.services);
    // A network that blocks WebSockets: every attempt errors before opening.
    class BlockedWebSocket extends WebSocket {
      constructor(url: string) {
        super(url.replace(/^ws:\/\/[^/]+/, "ws://127.0.0.1:9"));
      }
    }
    const transports: string[] = [];
    let pulls = 0;
    const client = new RealtimeClient({
      apiBaseUrl: s.base,
      buildingId: b.id,
      deviceId: "blocked-phone",
      getAccessToken: () => b.resident.token,
      WebSocket: BlockedWebSocket,
      sync: { syncNow: () => void pulls++ },
      backoff: { baseMs: 10, maxMs: 50 },
      fallbackAfterFailures: 2,
      onTransport: (t) => transports.push(t),
    }).connect();
    try {
      await until(() => client.transport === "sse", 10_000);
      await until(() => client.presence.some((m) => m.deviceId === "blocked-phone"));
      await fetch(`${s.base}/api/v1/buildings/${b.id}/apartments`, {
        method: "POST",
        headers: { ...b.manager.auth, "content-type": "application/json" },
        body: JSON.stringify({ number: "11" }),
      });
      await until(() => pulls >= 1);
      expect(transports).toContain("sse");
    } finally {
      client.close();
    }
  });
});
