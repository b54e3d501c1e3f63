/**
 * The same room under `partykit dev` (workerd via miniflare, hibernation on): real sockets to
 * party/building.ts, tokens verified in onBeforeConnect, publishing through the PartyKit HTTP
 * bus adapter with the shared secret, alarms sweeping silent connections.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signRoomToken } from "../../src/modules/realtime/token";
import { createPartyKitBus, PARTY_SECRET_HEADER } from "../../src/platform/realtime/partykit";
import { CloseCodes } from "../../src/protocol/realtime";
import { closeCodeOf, openRoom, waitUntil } from "../integration/realtime/harness";
import { type PartykitDev, startPartykitDev } from "../integration/realtime/partykit-dev";
import { TEST_JWT_SECRET } from "../support/app";

const PARTY_SECRET = "party-secret-for-tests-0123456789";

describe("realtime rooms under partykit dev", () => {
  let party: PartykitDev;
  let host: string;
  beforeAll(async () => {
    party = await startPartykitDev({
      JWT_SECRET: TEST_JWT_SECRET,
      PARTYKIT_SECRET: PARTY_SECRET,
      REALTIME_HEARTBEAT_INTERVAL_MS: "100",
      REALTIME_HEARTBEAT_TIMEOUT_MS: "500",
      REALTIME_MAX_CONNECTIONS_PER_USER: "2",
    });
    host = party.host;
  }, 120_000);
  afterAll(() => party?.stop());

  const building = () => crypto.randomUUID();
  const token = async (
    buildingId: string,
    userId = crypto.randomUUID(),
    deviceId = "phone",
    secret = TEST_JWT_SECRET,
    version = 1,
  ) =>
    (await signRoomToken({ userId, buildingId, role: "resident", deviceId, version }, secret, new Date()))
      .token;
  const url = (buildingId: string, t: string) => `ws://${host}/parties/building/${buildingId}?token=${t}`;

  it("shows two clients each other's presence", async () => {
    const b = building();
    const [u1, u2] = [crypto.randomUUID(), crypto.randomUUID()];
    const a = await openRoom(url(b, await token(b, u1)));
    expect(await a.next("welcome", undefined, 15_000)).toMatchObject({ buildingId: b, userId: u1 });
    const c = await openRoom(url(b, await token(b, u2, "tablet")));
    const list = await c.next("presence.list");
    expect(list.members.map((m) => m.userId).sort()).toEqual([u1, u2].sort());
    await a.next("presence.join", (f) => f.member.userId === u2);
    c.close();
    expect((await a.next("presence.leave", (f) => f.userId === u2)).reason).toBe("closed");
    a.close();
  });

  it("delivers a poke published through the PartyKit bus adapter", async () => {
    const b = building();
    const a = await openRoom(url(b, await token(b)));
    await a.next("welcome", undefined, 15_000);
    const bus = createPartyKitBus({ host, secret: PARTY_SECRET });
    await bus.publish({ type: "poke", buildingId: b, version: 17 });
    expect(await a.next("poke")).toMatchObject({ buildingId: b, version: 17 });
    await expect(
      createPartyKitBus({ host, secret: "wrong-secret-0123456789" }).publish({
        type: "poke",
        buildingId: b,
        version: 1,
      }),
    ).rejects.toThrow(/401/);
    const bad = await fetch(`http://${host}/parties/building/${b}`, {
      method: "POST",
      headers: { [PARTY_SECRET_HEADER]: PARTY_SECRET },
      body: JSON.stringify({ type: "poke", buildingId: building(), version: 1 }),
    });
    expect(bad.status).toBe(400);
    a.close();
  });

  it("refuses forged, expired and other-building tokens with 401", async () => {
    const b = building();
    const forged = await token(b, crypto.randomUUID(), "x", "another-secret-another-secret-0123456789");
    const expired = (
      await signRoomToken(
        { userId: crypto.randomUUID(), buildingId: b, role: "resident", deviceId: "x", version: 1 },
        TEST_JWT_SECRET,
        new Date(Date.now() - 3600_000),
      )
    ).token;
    const elsewhere = await token(building());
    for (const t of [forged, expired, elsewhere, ""]) {
      await expect(openRoom(url(b, t))).rejects.toMatchObject({ status: 401 });
    }
  });

  it("answers malformed frames with error frames and caps connections per user", async () => {
    const b = building();
    const user = crypto.randomUUID();
    const a = await openRoom(url(b, await token(b, user)));
    await a.next("welcome", undefined, 15_000);
    a.send("{oops");
    expect(await a.next("error")).toMatchObject({ code: "MALFORMED_JSON" });
    a.send(Buffer.from([1, 2, 3, 255]));
    expect(await a.next("error")).toMatchObject({ code: "BINARY_NOT_SUPPORTED" });
    a.send({ type: "teleport" });
    expect(await a.next("error")).toMatchObject({ code: "UNKNOWN_TYPE" });
    await openRoom(url(b, await token(b, user, "laptop")));
    const third = await openRoom(url(b, await token(b, user, "watch")));
    expect(await third.next("error")).toMatchObject({ code: "TOO_MANY_CONNECTIONS" });
    // miniflare keeps TCP open after the close handshake, so `ws` only reports "close" after its
    // 30 s close timeout: read the close code as soon as the close frame has arrived instead.
    while (third.ws.readyState === third.ws.OPEN) await new Promise((r) => setTimeout(r, 10));
    expect((third.ws as unknown as { _closeCode: number })._closeCode).toBe(4429);
    third.ws.terminate();
    a.send({ type: "ping", t: 3 });
    expect(await a.next("pong", (f) => f.t === 3)).toMatchObject({ t: 3 });
  });

  it("drops a silent connection within the heartbeat timeout (alarm sweep)", async () => {
    const b = building();
    const [u1, u2] = [crypto.randomUUID(), crypto.randomUUID()];
    const watcher = await openRoom(url(b, await token(b, u1)));
    await watcher.next("welcome", undefined, 15_000);
    const silent = await openRoom(url(b, await token(b, u2)));
    await watcher.next("presence.join", (f) => f.member.userId === u2);
    silent.stopPing();
    silent.ws.pause();
    const left = await watcher.next("presence.leave", (f) => f.userId === u2, 5000);
    expect(left.reason).toBe("timeout");
    silent.ws.terminate();
    watcher.close();
  });

  it("closes a revoked user's sockets within 1 s and refuses their older tokens, also after the room emptied", async () => {
    const b = building();
    const [user, other] = [crypto.randomUUID(), crypto.randomUUID()];
    const watcher = await openRoom(url(b, await token(b, other, "desk")));
    await watcher.next("welcome", undefined, 15_000);
    const sockets = [
      await openRoom(url(b, await token(b, user, "phone"))),
      await openRoom(url(b, await token(b, user, "tablet"))),
    ];
    for (const c of sockets) await c.next("welcome");
    await watcher.next("presence.join", (f) => f.member.deviceId === "tablet");

    const bus = createPartyKitBus({ host, secret: PARTY_SECRET });
    await bus.publish({ type: "revoke", buildingId: b, userId: user, version: 2, reason: "removed" });
    await waitUntil(() => sockets.every((c) => closeCodeOf(c.ws) !== null), 1000, "revoked sockets closed");
    for (const c of sockets) {
      expect(closeCodeOf(c.ws)).toBe(CloseCodes.REVOKED);
      expect(c.frames.at(-1)).toMatchObject({ type: "error", code: "ACCESS_REVOKED" });
      c.ws.terminate();
    }
    const left = () =>
      watcher.frames.flatMap((f) => (f.type === "presence.leave" && f.userId === user ? [f.deviceId] : []));
    await waitUntil(() => left().length === 2, 5000, "both devices announced gone");
    expect(left().sort()).toEqual(["phone", "tablet"]);
    const presence = async () =>
      (
        (await (
          await fetch(`http://${host}/parties/building/${b}`, {
            headers: { [PARTY_SECRET_HEADER]: PARTY_SECRET },
          })
        ).json()) as { members: Array<{ userId: string }> }
      ).members.map((m) => m.userId);
    expect(await presence()).toEqual([other]);
    watcher.close();
    await waitUntil(async () => (await presence()).length === 0, 5000, "room empty");

    // The revocation is kept in the room's storage: a token minted before it is refused on connect.
    const stale = await openRoom(url(b, await token(b, user, "phone")));
    await waitUntil(() => closeCodeOf(stale.ws) !== null, 5000, "stale token refused");
    expect(closeCodeOf(stale.ws)).toBe(CloseCodes.REVOKED);
    expect(stale.frames.map((f) => f.type)).toEqual(["error"]);
    stale.ws.terminate();
    // A token minted at or after the revocation's version is admitted.
    const fresh = await openRoom(url(b, await token(b, user, "phone", TEST_JWT_SECRET, 2)));
    expect(await fresh.next("welcome")).toMatchObject({ userId: user });
    fresh.close();
  });
});
