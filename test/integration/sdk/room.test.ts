/**
 * Sync and rooms on one session, against the standalone server (real WebSockets and SSE): a
 * write by another member pokes the room and the open sync client pulls it; the SSE fallback
 * whose access token went bad refreshes through the shared session and connects.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { createHorizonClient } from "../../../src/client/index";
import { MemoryStorage } from "../../../src/client/storage/memory";
import { createBuilding } from "../../support/fixtures";
import { type RealtimeServer, startRealtimeServer, waitUntil } from "../realtime/harness";
import { join } from "./harness";

describe("createHorizonClient rooms", () => {
  let s: RealtimeServer;
  beforeAll(async () => {
    s = await startRealtimeServer("pglite", { RATE_LIMIT_ENABLED: "false" });
  });
  afterAll(() => s?.close());

  const member = async (buildingId: string, storage = new MemoryStorage()) => {
    const client = await createHorizonClient({ url: s.base, storage, WebSocket });
    const user = await client.auth.register({
      email: `room-${crypto.randomUUID().slice(0, 8)}@test.horizon`,
      password: "Correct-Horse-9-Battery!",
      name: "Room User",
    });
    await join(s.t, buildingId, user.id, "manager");
    return { client, storage };
  };

  it("a poke from another member's write makes the open sync client pull it", async () => {
    const b = await createBuilding(s.t.services);
    const { client } = await member(b.id);
    const sync = await client.sync({ buildings: [b.id], intervalMs: 0 });
    await sync.syncNow();
    const transports: string[] = [];
    const pokes: number[] = [];
    const room = client.room(b.id, {
      transport: "websocket",
      onTransport: (t) => transports.push(t),
      onPoke: (f) => pokes.push(f.version),
    });
    await waitUntil(() => transports.includes("websocket"), 10_000, "websocket open");
    // The room has us once it lists our device (an open socket may not have joined yet).
    await waitUntil(() => room.presence.some((m) => m.deviceId === client.deviceId), 10_000, "joined");
    const res = await fetch(`${s.base}/api/v1/buildings/${b.id}/apartments`, {
      method: "POST",
      headers: { ...b.manager.auth, "content-type": "application/json" },
      body: JSON.stringify({ number: "77" }),
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    await waitUntil(
      () => sync.get("apartments", id) !== undefined,
      10_000,
      `pulled after the poke (pokes ${pokes.length}, transports ${transports})`,
    );
    expect(pokes.length).toBeGreaterThan(0);
    room.close();
    await client.close();
  });

  it("the SSE fallback refreshes a bad access token through the shared session", async () => {
    const b = await createBuilding(s.t.services);
    const { storage } = await member(b.id);
    const stored = JSON.parse((await storage.getItem("horizon:session"))!);
    await storage.setItem("horizon:session", JSON.stringify({ ...stored, accessToken: "expired.or.forged" }));
    const client = await createHorizonClient({ url: s.base, storage, WebSocket });
    const events: string[] = [];
    client.auth.onAuthStateChange((e) => events.push(e.type));
    const transports: string[] = [];
    const room = client.room(b.id, { transport: "sse", onTransport: (t) => transports.push(t) });
    await waitUntil(() => transports.includes("sse"), 10_000, "SSE connected");
    expect(events).toContain("TOKEN_REFRESHED");
    room.close();
    await client.close();
  });
});
