/**
 * Building rooms on the real standalone server (Node `ws` transport, same listen code as
 * `npm start`) with real sockets: presence, pokes from API writes, heartbeat timeouts, auth
 * before accept, and bad input that must not disturb the room.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signRoomToken } from "../../src/modules/realtime/token";
import {
  openRoom,
  type RealtimeServer,
  roomToken,
  startRealtimeServer,
} from "../integration/realtime/harness";
import { createBuilding, createUser } from "../support/fixtures";

describe("realtime rooms on the standalone host", () => {
  let s: RealtimeServer;
  beforeAll(async () => {
    s = await startRealtimeServer("pglite");
  });
  afterAll(() => s?.close());

  const roomUrl = (buildingId: string, token: string) =>
    `${s.wsBase}/parties/building/${buildingId}?token=${token}`;

  it("shows two clients each other's presence and removes a clean leave", async () => {
    const b = await createBuilding(s.t.services);
    const a = await openRoom(roomUrl(b.id, await roomToken(s.base, b.resident, b.id, "phone-a")));
    const welcome = await a.next("welcome");
    expect(welcome).toMatchObject({ buildingId: b.id, userId: b.resident.id, deviceId: "phone-a" });
    const c = await openRoom(roomUrl(b.id, await roomToken(s.base, b.manager, b.id, "tablet")));
    const list = await c.next("presence.list");
    expect(list.members.map((m) => m.userId).sort()).toEqual([b.resident.id, b.manager.id].sort());
    const joined = await a.next("presence.join", (f) => f.member.userId === b.manager.id);
    expect(joined.member).toMatchObject({ role: "manager", deviceId: "tablet" });

    const api = await fetch(`${s.base}/api/v1/buildings/${b.id}/presence`, { headers: b.neighbour.auth });
    expect(api.status).toBe(200);
    const body = (await api.json()) as { online: Array<{ userId: string }> };
    expect(body.online.map((u) => u.userId).sort()).toEqual([b.resident.id, b.manager.id].sort());

    c.close();
    const left = await a.next("presence.leave", (f) => f.userId === b.manager.id);
    expect(left.reason).toBe("closed");
    a.close();
  });

  it("keeps a user online until their last device leaves", async () => {
    const b = await createBuilding(s.t.services);
    const watcher = await openRoom(roomUrl(b.id, await roomToken(s.base, b.manager, b.id, "desk")));
    const phone = await openRoom(roomUrl(b.id, await roomToken(s.base, b.resident, b.id, "phone")));
    const laptop = await openRoom(roomUrl(b.id, await roomToken(s.base, b.resident, b.id, "laptop")));
    await watcher.next("presence.join", (f) => f.member.deviceId === "laptop");
    phone.close();
    await watcher.next("presence.leave", (f) => f.deviceId === "phone");
    const online = async () =>
      (
        (await (
          await fetch(`${s.base}/api/v1/buildings/${b.id}/presence`, { headers: b.manager.auth })
        ).json()) as {
          online: Array<{ userId: string; devices: Array<{ deviceId: string }> }>;
        }
      ).online;
    expect((await online()).find((u) => u.userId === b.resident.id)?.devices.map((d) => d.deviceId)).toEqual([
      "laptop",
    ]);
    laptop.close();
    await watcher.next("presence.leave", (f) => f.deviceId === "laptop");
    expect((await online()).map((u) => u.userId)).toEqual([b.manager.id]);
    watcher.close();
  });

  it("delivers a write made through the API to the other client as a poke", async () => {
    const b = await createBuilding(s.t.services);
    const other = await openRoom(roomUrl(b.id, await roomToken(s.base, b.resident, b.id)));
    await other.next("presence.list");
    const res = await fetch(`${s.base}/api/v1/buildings/${b.id}/apartments`, {
      method: "POST",
      headers: { ...b.manager.auth, "content-type": "application/json" },
      body: JSON.stringify({ number: "42B", floor: 4 }),
    });
    expect(res.status).toBe(201);
    const { syncVersion } = (await res.json()) as { syncVersion: number };
    const poke = await other.next("poke");
    expect(poke).toMatchObject({ buildingId: b.id, version: syncVersion });
    other.close();
  });

  it("drops a connection that dies without closing within the heartbeat timeout", async () => {
    const b = await createBuilding(s.t.services);
    const watcher = await openRoom(roomUrl(b.id, await roomToken(s.base, b.manager, b.id)));
    try {
      const silent = await openRoom(roomUrl(b.id, await roomToken(s.base, b.resident, b.id)));
      await watcher.next("presence.join", (f) => f.member.userId === b.resident.id);
      // Stop reading and answering entirely: the socket stays open at TCP level but goes silent.
      silent.stopPing();
      silent.ws.pause();
      // The server's heartbeat timeout (400 ms here) is what ends it: the reason says so. The wait
      // bound is generous so a loaded machine cannot fail the test on scheduling alone.
      const left = await watcher.next("presence.leave", (f) => f.userId === b.resident.id, 15_000);
      expect(left.reason).toBe("timeout");
      silent.ws.terminate();
    } finally {
      watcher.close();
    }
  });

  it("refuses forged, expired, other-building and missing tokens with 401 before accepting", async () => {
    const b = await createBuilding(s.t.services);
    const other = await createBuilding(s.t.services);
    const secret = s.t.services.config.JWT_SECRET!;
    const claims = {
      userId: b.resident.id,
      buildingId: b.id,
      role: "resident" as const,
      deviceId: "x",
      version: 0,
    };
    const forged = (await signRoomToken(claims, "another-secret-another-secret-0123456789", new Date()))
      .token;
    const expired = (await signRoomToken(claims, secret, new Date(Date.now() - 3600_000), 60)).token;
    const elsewhere = await roomToken(s.base, other.resident, other.id);
    const access = b.resident.token; // an API access token is not a room token
    for (const url of [
      roomUrl(b.id, forged),
      roomUrl(b.id, expired),
      roomUrl(b.id, elsewhere),
      roomUrl(b.id, access),
      `${s.wsBase}/parties/building/${b.id}`,
    ]) {
      await expect(openRoom(url)).rejects.toMatchObject({ status: 401 });
    }
    const notMember = await createUser(s.t.services);
    const res = await fetch(`${s.base}/api/v1/realtime/token`, {
      method: "POST",
      headers: { ...notMember.auth, "content-type": "application/json" },
      body: JSON.stringify({ buildingId: b.id, deviceId: "x" }),
    });
    expect(res.status).toBe(404);
  });

  it("answers malformed frames with error frames and keeps the room working", async () => {
    const b = await createBuilding(s.t.services);
    const bad = await openRoom(roomUrl(b.id, await roomToken(s.base, b.resident, b.id)));
    const good = await openRoom(roomUrl(b.id, await roomToken(s.base, b.neighbour, b.id)));
    await bad.next("welcome");
    bad.send("{not json");
    expect(await bad.next("error")).toMatchObject({ code: "MALFORMED_JSON" });
    bad.send({ type: "launch-missiles" });
    expect(await bad.next("error")).toMatchObject({ code: "UNKNOWN_TYPE" });
    bad.send({ type: "subscribe", events: ["nope"] });
    expect(await bad.next("error")).toMatchObject({ code: "INVALID_FRAME" });
    bad.send({ type: "ping", extra: 1 });
    expect(await bad.next("error")).toMatchObject({ code: "INVALID_FRAME" });
    bad.send(Buffer.from([0xff, 0x00, 0xde, 0xad, 0xbe, 0xef]));
    expect(await bad.next("error")).toMatchObject({ code: "BINARY_NOT_SUPPORTED" });
    bad.send({ type: "ping", t: 7 });
    expect(await bad.next("pong", (f) => f.t === 7)).toMatchObject({ t: 7 });

    // A 10 MB frame: closed with 1009; the other member is unaffected.
    bad.send("x".repeat(10 * 1024 * 1024));
    expect((await bad.closed).code).toBe(1009);
    await good.next("presence.leave", (f) => f.userId === b.resident.id);
    good.send({ type: "ping", t: 1 });
    expect(await good.next("pong", (f) => f.t === 1)).toMatchObject({ t: 1 });
    good.close();
  });

  it("caps connections per user with close code 4429 and leaves others unaffected", async () => {
    const b = await createBuilding(s.t.services);
    const token = await roomToken(s.base, b.resident, b.id);
    const opened = await Promise.all(Array.from({ length: 3 }, () => openRoom(roomUrl(b.id, token))));
    for (const c of opened) await c.next("welcome");
    const attempts = await Promise.all(Array.from({ length: 20 }, () => openRoom(roomUrl(b.id, token))));
    for (const c of attempts) {
      expect(await c.next("error")).toMatchObject({ code: "TOO_MANY_CONNECTIONS" });
      expect((await c.closed).code).toBe(4429);
    }
    const neighbour = await openRoom(roomUrl(b.id, await roomToken(s.base, b.neighbour, b.id)));
    await neighbour.next("welcome");
    for (const c of [...opened, neighbour]) {
      c.send({ type: "ping", t: 2 });
      await c.next("pong", (f) => f.t === 2);
      c.close();
    }
  });
});
