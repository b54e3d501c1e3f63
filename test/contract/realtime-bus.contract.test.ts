/**
 * The realtime bus port contract, run against every adapter with the real app in front and real
 * sockets behind: the in-process bus (standalone host rooms over `ws`) and the PartyKit HTTP bus
 * (rooms under `partykit dev`). Publishing reaches the building's members and no other building's,
 * presence follows connections, and a membership change revokes live access.
 */
import { randomUUID } from "node:crypto";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { memberships } from "../../src/db/schema";
import { presenceOf } from "../../src/modules/realtime/presence";
import type { RealtimeBus } from "../../src/platform/realtime";
import { createPartyKitBus, PARTY_SECRET_HEADER } from "../../src/platform/realtime/partykit";
import { createRedisBus } from "../../src/platform/realtime/redis";
import { CloseCodes } from "../../src/protocol/realtime";
import {
  closeCodeOf,
  openRoom,
  type RoomClient,
  startRealtimeServer,
  waitUntil,
} from "../integration/realtime/harness";
import { startPartykitDev } from "../integration/realtime/partykit-dev";
import { createTestApp, TEST_JWT_SECRET, type TestApp } from "../support/app";
import { REDIS_URL } from "../support/env";
import { createBuilding, json, type TestBuilding, type TestUser } from "../support/fixtures";

const PARTY_SECRET = "party-secret-for-contract-0123456789";
/** Only what a test does closes a socket here, however loaded the machine is. */
const ROOM_VARS = { REALTIME_HEARTBEAT_INTERVAL_MS: "100", REALTIME_HEARTBEAT_TIMEOUT_MS: "20000" };

interface BusUnderTest {
  t: TestApp;
  bus: RealtimeBus;
  roomUrl(buildingId: string, token: string): string;
  /** Who the room (or the presence it reports to) lists as online: `userId/deviceId`. */
  presence(buildingId: string): Promise<string[]>;
  close(): Promise<void>;
}

const adapters: Record<string, () => Promise<BusUnderTest>> = {
  async memory() {
    const s = await startRealtimeServer("pglite", ROOM_VARS);
    return {
      t: s.t,
      bus: s.t.services.realtime,
      roomUrl: (b, token) => `${s.wsBase}/parties/building/${b}?token=${token}`,
      presence: async (b) =>
        (await presenceOf(s.t.services).getOnlineUsers(b)).map((m) => `${m.userId}/${m.deviceId}`),
      close: () => s.close(),
    };
  },
  /** The Redis pub/sub bus (several standalone replicas, issue 20) behind the same in-process rooms. */
  async redis() {
    const s = await startRealtimeServer("pglite", ROOM_VARS);
    const bus = createRedisBus({ url: REDIS_URL, prefix: `test:rt:${randomUUID()}` });
    await bus.ready;
    s.t.services.realtime = bus;
    return {
      t: s.t,
      bus,
      roomUrl: (b, token) => `${s.wsBase}/parties/building/${b}?token=${token}`,
      presence: async (b) =>
        (await presenceOf(s.t.services).getOnlineUsers(b)).map((m) => `${m.userId}/${m.deviceId}`),
      close: async () => {
        await s.close();
        await bus.close();
      },
    };
  },
  async partykit() {
    const party = await startPartykitDev({
      JWT_SECRET: TEST_JWT_SECRET,
      PARTYKIT_SECRET: PARTY_SECRET,
      ...ROOM_VARS,
    });
    const t = await createTestApp({
      db: "pglite",
      env: { PARTYKIT_HOST: party.host, PARTYKIT_SECRET: PARTY_SECRET, ...ROOM_VARS },
    });
    const bus = createPartyKitBus({ host: party.host, secret: PARTY_SECRET });
    t.services.realtime = bus;
    return {
      t,
      bus,
      roomUrl: (b, token) => `ws://${party.host}/parties/building/${b}?token=${token}`,
      presence: async (b) => {
        const res = await fetch(`http://${party.host}/parties/building/${b}`, {
          headers: { [PARTY_SECRET_HEADER]: PARTY_SECRET },
        });
        const { members } = (await res.json()) as { members: Array<{ userId: string; deviceId: string }> };
        return members.map((m) => `${m.userId}/${m.deviceId}`);
      },
      close: async () => {
        await t.close();
        await party.stop();
      },
    };
  },
};

describe.each(Object.keys(adapters))("realtime bus contract: %s", (name) => {
  let a: BusUnderTest;
  beforeAll(async () => {
    a = await adapters[name]!();
  }, 120_000);
  afterAll(() => a?.close());

  async function token(b: TestBuilding, user: TestUser, deviceId: string): Promise<string> {
    const res = await a.t.request("/api/v1/realtime/token", json({ buildingId: b.id, deviceId }, user.auth));
    expect(res.status, await res.clone().text()).toBe(200);
    return ((await res.json()) as { token: string }).token;
  }

  async function join(b: TestBuilding, user: TestUser, deviceId: string): Promise<RoomClient> {
    const c = await openRoom(a.roomUrl(b.id, await token(b, user, deviceId)));
    await c.next("welcome", undefined, 15_000);
    return c;
  }

  async function memberId(b: TestBuilding, userId: string): Promise<string> {
    const [row] = await a.t.services.database.db
      .select({ id: memberships.id })
      .from(memberships)
      .where(and(eq(memberships.buildingId, b.id), eq(memberships.userId, userId)));
    return row!.id;
  }

  /** A token refused: before the upgrade (401) or by the room right after it (4403, no welcome). */
  async function expectRefused(url: string) {
    let c: RoomClient;
    try {
      c = await openRoom(url);
    } catch (err) {
      expect(err).toMatchObject({ status: 401 });
      return;
    }
    await waitUntil(() => closeCodeOf(c.ws) !== null, 5000, "refused after the upgrade");
    expect(closeCodeOf(c.ws)).toBe(CloseCodes.REVOKED);
    expect(c.frames.some((f) => f.type === "welcome")).toBe(false);
    c.ws.terminate();
  }

  it("publish reaches the building's members and no other building's", async () => {
    const [b, other] = [await createBuilding(a.t.services), await createBuilding(a.t.services)];
    const member = await join(b, b.resident, "phone");
    const outsider = await join(other, other.resident, "phone");
    await a.bus.publish({ type: "poke", buildingId: b.id, version: 7 });
    expect(await member.next("poke")).toMatchObject({ buildingId: b.id, version: 7 });

    // A write through the API reaches the room after commit.
    const res = await a.t.request(
      `/api/v1/buildings/${b.id}/apartments`,
      json({ number: "C1" }, b.manager.auth),
    );
    expect(res.status).toBe(201);
    const { syncVersion } = (await res.json()) as { syncVersion: number };
    expect(await member.next("poke", (f) => f.version === syncVersion)).toMatchObject({ buildingId: b.id });

    // A round trip on the other building's socket: anything published before it has arrived.
    outsider.send({ type: "ping", t: 1 });
    await outsider.next("pong", (f) => f.t === 1);
    expect(outsider.frames.some((f) => f.type === "poke")).toBe(false);
    member.close();
    outsider.close();
  });

  it("presence lists connected devices and drops one that leaves", async () => {
    const b = await createBuilding(a.t.services);
    const phone = await join(b, b.resident, "phone");
    const desk = await join(b, b.manager, "desk");
    expect((await a.presence(b.id)).sort()).toEqual(
      [`${b.resident.id}/phone`, `${b.manager.id}/desk`].sort(),
    );
    phone.close();
    await waitUntil(async () => (await a.presence(b.id)).length === 1, 5000, "presence drops the phone");
    expect(await a.presence(b.id)).toEqual([`${b.manager.id}/desk`]);
    desk.close();
  });

  it("membership revocation closes the member's sockets within 1 s and refuses their old token", async () => {
    const b = await createBuilding(a.t.services);
    const watcher = await join(b, b.manager, "desk");
    const old = await token(b, b.resident, "phone");
    const sockets = [await openRoom(a.roomUrl(b.id, old)), await join(b, b.resident, "tablet")];
    await sockets[0]!.next("welcome", undefined, 15_000);
    const res = await a.t.request(`/api/v1/buildings/${b.id}/members/${await memberId(b, b.resident.id)}`, {
      method: "DELETE",
      headers: b.manager.auth,
    });
    expect(res.status).toBe(204);
    await waitUntil(() => sockets.every((c) => closeCodeOf(c.ws) !== null), 1000, "sockets closed");
    for (const c of sockets) {
      expect(closeCodeOf(c.ws)).toBe(CloseCodes.REVOKED);
      expect(c.frames.at(-1)).toMatchObject({ type: "error", code: "ACCESS_REVOKED" });
      expect(c.frames.some((f) => f.type === "poke")).toBe(false);
      c.ws.terminate();
    }
    await expectRefused(a.roomUrl(b.id, old));
    await waitUntil(
      async () => (await a.presence(b.id)).every((p) => !p.startsWith(b.resident.id)),
      2000,
      "presence drops the removed member",
    );
    // The rest of the room is untouched.
    watcher.send({ type: "ping", t: 2 });
    await watcher.next("pong", (f) => f.t === 2);
    expect(closeCodeOf(watcher.ws)).toBeNull();
    watcher.close();
  });

  it("a role change closes the member's sockets; a fresh token joins with the new role", async () => {
    const b = await createBuilding(a.t.services);
    const old = await token(b, b.resident, "phone");
    const socket = await openRoom(a.roomUrl(b.id, old));
    await socket.next("welcome", undefined, 15_000);
    const res = await a.t.request(`/api/v1/buildings/${b.id}/members/${await memberId(b, b.resident.id)}`, {
      ...json({ role: "manager" }, b.manager.auth),
      method: "PATCH",
    });
    expect(res.status).toBe(200);
    await waitUntil(() => closeCodeOf(socket.ws) !== null, 1000, "socket closed");
    expect(closeCodeOf(socket.ws)).toBe(CloseCodes.REVOKED);
    socket.ws.terminate();
    await expectRefused(a.roomUrl(b.id, old));
    const again = await join(b, b.resident, "phone");
    const list = await again.next("presence.list");
    expect(list.members.find((m) => m.userId === b.resident.id)?.role).toBe("manager");
    again.close();
  });
});
