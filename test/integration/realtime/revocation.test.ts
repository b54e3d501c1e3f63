/**
 * Defect 4 (issue 14): a member's removal, a role change and an account restriction cut that
 * user's live access to the building on the standalone host — real WebSockets and a real SSE
 * request, closed within 1 s of the change — and a room token minted before the change no longer
 * opens a socket. Run on PGlite and PostgreSQL.
 */
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { RealtimeClient } from "../../../src/client/realtime";
import { memberships } from "../../../src/db/schema";
import { systemContext } from "../../../src/modules/identity/accounts";
import { restrictAccount } from "../../../src/modules/identity/restrict";
import { CloseCodes } from "../../../src/protocol/realtime";
import { createBuilding, type TestBuilding } from "../../support/fixtures";
import {
  closeCodeOf,
  type EventStream,
  openRoom,
  openStream,
  type RealtimeServer,
  type RoomClient,
  roomToken,
  startRealtimeServer,
  waitUntil,
} from "./harness";

/** The deadline the issue sets for cutting live access after the change commits. */
const CUT_WITHIN_MS = 1000;

describe.each(["pglite", "pg"] as const)("revoking live access on the standalone host (%s)", (db) => {
  let s: RealtimeServer;
  beforeAll(async () => {
    // A heartbeat timeout far above a loaded machine's scheduling delays: only revocations close here.
    s = await startRealtimeServer(db, { REALTIME_HEARTBEAT_TIMEOUT_MS: "20000" });
  });
  afterAll(() => s?.close());

  const roomUrl = (buildingId: string, token: string) =>
    `${s.wsBase}/parties/building/${buildingId}?token=${token}`;

  async function memberId(b: TestBuilding, userId: string): Promise<string> {
    const [row] = await s.t.services.database.db
      .select({ id: memberships.id })
      .from(memberships)
      .where(and(eq(memberships.buildingId, b.id), eq(memberships.userId, userId)));
    return row!.id;
  }

  async function presentUsers(b: TestBuilding): Promise<string[]> {
    const res = await fetch(`${s.base}/api/v1/buildings/${b.id}/presence`, { headers: b.manager.auth });
    expect(res.status).toBe(200);
    return ((await res.json()) as { online: Array<{ userId: string }> }).online.map((u) => u.userId);
  }

  /** The resident online on two sockets and an event stream, watched by the manager. */
  async function residentOnline(b: TestBuilding) {
    const token = await roomToken(s.base, b.resident, b.id, "phone");
    const sockets = [
      await openRoom(roomUrl(b.id, token)),
      await openRoom(roomUrl(b.id, await roomToken(s.base, b.resident, b.id, "tablet"))),
    ];
    for (const c of sockets) await c.next("welcome");
    const stream = await openStream(s.base, b.id, b.resident.auth, "web");
    expect(stream.status).toBe(200);
    await waitUntil(() => stream.messages.some((m) => m.event === "presence.list"), 5000, "stream open");
    const watcher = await openRoom(roomUrl(b.id, await roomToken(s.base, b.manager, b.id, "desk")));
    await watcher.next("welcome");
    expect(await presentUsers(b)).toContain(b.resident.id);
    return { token, sockets, stream, watcher };
  }

  /** Both sockets closed with 4403 after an ACCESS_REVOKED frame, the stream ended the same way. */
  async function expectCut(sockets: RoomClient[], stream: EventStream) {
    await waitUntil(
      () => sockets.every((c) => closeCodeOf(c.ws) !== null) && stream.ended,
      CUT_WITHIN_MS,
      "sockets and stream closed",
    );
    for (const c of sockets) {
      expect(closeCodeOf(c.ws)).toBe(CloseCodes.REVOKED);
      expect(c.frames.at(-1)).toMatchObject({ type: "error", code: "ACCESS_REVOKED" });
    }
    const last = stream.messages.at(-1)!;
    expect(last.event).toBe("error");
    expect(JSON.parse(last.data)).toMatchObject({ code: "ACCESS_REVOKED" });
  }

  async function expectTokenRefused(buildingId: string, token: string) {
    await expect(openRoom(roomUrl(buildingId, token))).rejects.toMatchObject({ status: 401 });
  }

  it("removal closes the member's sockets and stream within 1 s; the old token and a new one are refused", async () => {
    const b = await createBuilding(s.t.services);
    const { token, sockets, stream, watcher } = await residentOnline(b);
    const res = await fetch(
      `${s.base}/api/v1/buildings/${b.id}/members/${await memberId(b, b.resident.id)}`,
      {
        method: "DELETE",
        headers: b.manager.auth,
      },
    );
    expect(res.status).toBe(204);
    await expectCut(sockets, stream);
    await expectTokenRefused(b.id, token);
    await expect(roomToken(s.base, b.resident, b.id)).rejects.toThrow(/404/);
    expect((await openStream(s.base, b.id, b.resident.auth)).status).toBe(404);
    await watcher.next("presence.leave", (f) => f.userId === b.resident.id);
    await waitUntil(
      async () => !(await presentUsers(b)).includes(b.resident.id),
      2000,
      "presence drops them",
    );

    // Everyone else stays connected and keeps receiving pokes; the removed member never sees one.
    const write = await fetch(`${s.base}/api/v1/buildings/${b.id}/apartments`, {
      method: "POST",
      headers: { ...b.manager.auth, "content-type": "application/json" },
      body: JSON.stringify({ number: "R1" }),
    });
    expect(write.status).toBe(201);
    const { syncVersion } = (await write.json()) as { syncVersion: number };
    await watcher.next("poke", (f) => f.version === syncVersion);
    for (const c of sockets) expect(c.frames.some((f) => f.type === "poke")).toBe(false);
    watcher.close();
  });

  it("a role change closes the member's sockets and stream; a fresh token joins with the new role", async () => {
    const b = await createBuilding(s.t.services);
    const { token, sockets, stream, watcher } = await residentOnline(b);
    const res = await fetch(
      `${s.base}/api/v1/buildings/${b.id}/members/${await memberId(b, b.resident.id)}`,
      {
        method: "PATCH",
        headers: { ...b.manager.auth, "content-type": "application/json" },
        body: JSON.stringify({ role: "manager" }),
      },
    );
    expect(res.status).toBe(200);
    await expectCut(sockets, stream);
    await expectTokenRefused(b.id, token);
    const again = await openRoom(roomUrl(b.id, await roomToken(s.base, b.resident, b.id, "phone")));
    expect(await again.next("welcome")).toMatchObject({ userId: b.resident.id });
    const joined = await watcher.next("presence.join", (f) => f.member.userId === b.resident.id);
    expect(joined.member.role).toBe("manager");
    // An apartment change is no revocation: the new socket stays open.
    const moved = await fetch(
      `${s.base}/api/v1/buildings/${b.id}/members/${await memberId(b, b.neighbour.id)}`,
      {
        method: "PATCH",
        headers: { ...b.manager.auth, "content-type": "application/json" },
        body: JSON.stringify({ apartmentId: b.apartments[2]!.id }),
      },
    );
    expect(moved.status).toBe(200);
    again.send({ type: "ping", t: 5 });
    await again.next("pong", (f) => f.t === 5);
    again.close();
    watcher.close();
  });

  it("an account restriction closes the user's sockets and stream in every building", async () => {
    const b = await createBuilding(s.t.services);
    const { token, sockets, stream, watcher } = await residentOnline(b);
    const result = await restrictAccount({
      ctx: systemContext(s.t.services, "test"),
      userId: b.resident.id,
      reason: "anomaly",
    });
    expect(result.buildings).toEqual([b.id]);
    await expectCut(sockets, stream);
    await expectTokenRefused(b.id, token);
    const res = await fetch(`${s.base}/api/v1/realtime/token`, {
      method: "POST",
      headers: { ...b.resident.auth, "content-type": "application/json" },
      body: JSON.stringify({ buildingId: b.id, deviceId: "phone" }),
    });
    expect(res.status).toBe(403);
    const reopened = await openStream(s.base, b.id, b.resident.auth);
    await waitUntil(() => reopened.ended, 2000, "a restricted user's new stream ends at once");
    expect(reopened.messages.at(-1)?.event).toBe("error");
    await waitUntil(
      async () => !(await presentUsers(b)).includes(b.resident.id),
      2000,
      "presence drops them",
    );
    watcher.close();
  });

  it.each(["websocket", "sse"] as const)(
    "the client SDK (%s) stops for good on removal: onRevoked, transport closed, no reconnect attempts",
    async (transport) => {
      const b = await createBuilding(s.t.services);
      let connects = 0;
      const revoked: string[] = [];
      const client = new RealtimeClient({
        apiBaseUrl: s.base,
        buildingId: b.id,
        deviceId: "phone",
        getAccessToken: () => b.resident.token,
        WebSocket,
        transport,
        // Immediate reconnects: a client that kept trying would pile up attempts within the wait below.
        backoff: { baseMs: 1, maxMs: 1 },
        fetch: (input, init) => {
          connects++;
          return fetch(input, init);
        },
        onRevoked: (reason) => revoked.push(reason),
      }).connect();
      try {
        await waitUntil(() => client.transport === transport, 5000, "connected");
        const res = await fetch(
          `${s.base}/api/v1/buildings/${b.id}/members/${await memberId(b, b.resident.id)}`,
          { method: "DELETE", headers: b.manager.auth },
        );
        expect(res.status).toBe(204);
        await waitUntil(() => revoked.length > 0, CUT_WITHIN_MS, "onRevoked called");
        expect(client.transport).toBe("closed");
        const after = connects;
        await new Promise((r) => setTimeout(r, 300));
        expect(connects).toBe(after);
        expect(revoked).toHaveLength(1);
      } finally {
        client.close();
      }
    },
  );
});
