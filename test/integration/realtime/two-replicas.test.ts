/**
 * Scale-out without the cloud (issue 20 §6): two standalone processes (`npm start`'s Bun host)
 * on one PostgreSQL and one Redis, with REALTIME_BUS=redis, as the compose file runs them behind
 * its proxy. A write on one replica reaches a room socket and an SSE stream on the other,
 * presence is shared (Redis kv), and a membership revoked on one closes the member's socket on
 * the other.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CloseCodes } from "../../../src/protocol/realtime";
import { REDIS_URL } from "../../support/env";
import { createScratchDatabase, type ScratchDatabase } from "../../support/scratch-db";
import { type BunHost, startBunHost } from "./bun-host";
import { closeCodeOf, openRoom, openStream, roomToken, waitUntil } from "./harness";

const MANAGER = "manager@demo.horizon.example";
const RESIDENT = "noa@demo.horizon.example";

describe("two standalone replicas on one PostgreSQL and Redis", () => {
  let scratch: ScratchDatabase;
  let one: BunHost;
  let two: BunHost;
  beforeAll(async () => {
    scratch = await createScratchDatabase({ migrated: false });
    const env = {
      DATABASE_URL: scratch.url,
      REDIS_URL,
      REALTIME_BUS: "redis",
      // The two replicas' own keys in the shared Redis (kv, rate limits, the bus's channel and ids).
      KV_PREFIX: `t-${crypto.randomUUID().slice(0, 8)}:`,
      // Parallel test runs share this Redis and sign in as the same demo accounts.
      LOGIN_MAX_PER_ACCOUNT: "10000",
      LOGIN_MAX_PER_IP: "10000",
      REALTIME_HEARTBEAT_INTERVAL_MS: "1000",
      REALTIME_HEARTBEAT_TIMEOUT_MS: "30000",
    };
    // One after the other, as a rolling start would: the first migrates and seeds, the second finds both done.
    one = await startBunHost(env);
    two = await startBunHost(env);
    expect(two.buildingId).toBe(one.buildingId);
  }, 240_000);
  afterAll(async () => {
    await one?.stop();
    await two?.stop();
    await scratch?.drop();
  });

  it("a write on one replica reaches a socket and an SSE stream on the other", async () => {
    const b = one.buildingId;
    const manager = await one.signIn(MANAGER);
    const resident = await two.signIn(RESIDENT);
    const socket = await openRoom(
      `${two.wsBase}/parties/building/${b}?token=${await roomToken(two.base, resident, b)}`,
    );
    await socket.next("welcome", undefined, 15_000);
    const stream = await openStream(two.base, b, resident.auth);
    expect(stream.status).toBe(200);

    const res = await fetch(`${one.base}/api/v1/buildings/${b}/apartments`, {
      method: "POST",
      headers: { ...manager.auth, "content-type": "application/json" },
      body: JSON.stringify({ number: `R${Date.now() % 100000}` }),
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const { syncVersion } = (await res.json()) as { syncVersion: number };

    expect(await socket.next("poke", (f) => f.version === syncVersion, 15_000)).toMatchObject({
      buildingId: b,
    });
    await waitUntil(
      () => stream.messages.some((m) => m.data.includes(`"version":${syncVersion}`)),
      15_000,
      "the poke on replica two's SSE stream",
    );
    socket.close();
    stream.close();
  });

  it("presence is shared: a member on one replica is listed to a member joining on the other", async () => {
    const b = one.buildingId;
    const resident = await two.signIn(RESIDENT);
    const manager = await one.signIn(MANAGER);
    const there = await openRoom(
      `${two.wsBase}/parties/building/${b}?token=${await roomToken(two.base, resident, b, "tablet")}`,
    );
    await there.next("welcome", undefined, 15_000);
    const here = await openRoom(
      `${one.wsBase}/parties/building/${b}?token=${await roomToken(one.base, manager, b, "desk")}`,
    );
    const list = await here.next("presence.list", undefined, 15_000);
    expect(list.members.map((m) => `${m.userId}/${m.deviceId}`)).toContain(`${resident.id}/tablet`);
    there.close();
    here.close();
  });

  it("a membership revoked on one replica closes the member's socket on the other", async () => {
    const b = one.buildingId;
    // A member of our own, so the demo accounts stay members for the other tests.
    const manager = await one.signIn(MANAGER);
    const email = `replica-${Date.now()}@example.com`;
    const reg = await fetch(`${one.base}/api/v1/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password: "Replica-Password-2026!", name: "Replica Member" }),
    });
    expect(reg.status, await reg.clone().text()).toBe(201);
    const add = await fetch(`${one.base}/api/v1/buildings/${b}/members`, {
      method: "POST",
      headers: { ...manager.auth, "content-type": "application/json" },
      body: JSON.stringify({ email, role: "manager" }),
    });
    expect(add.status, await add.clone().text()).toBe(201);
    const { member: added } = (await add.json()) as { member: { id: string } };
    const login = await fetch(`${two.base}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password: "Replica-Password-2026!" }),
    });
    const { accessToken } = (await login.json()) as { accessToken: string };
    const member = { id: "", email, token: accessToken, auth: { authorization: `Bearer ${accessToken}` } };
    const socket = await openRoom(
      `${two.wsBase}/parties/building/${b}?token=${await roomToken(two.base, member, b)}`,
    );
    await socket.next("welcome", undefined, 15_000);

    const del = await fetch(`${one.base}/api/v1/buildings/${b}/members/${added.id}`, {
      method: "DELETE",
      headers: manager.auth,
    });
    expect(del.status).toBe(204);
    await waitUntil(() => closeCodeOf(socket.ws) !== null, 15_000, "the socket on replica two closed");
    expect(closeCodeOf(socket.ws)).toBe(CloseCodes.REVOKED);
    socket.ws.terminate();
  });
});
