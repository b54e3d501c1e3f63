/**
 * Property 45: presence tracking. For any sequence of connects, heartbeats, clean disconnects,
 * silent deaths (time passing without heartbeats) and users on several devices, the online
 * status read back equals a simple model: a device is online while at least one of its
 * connections has been heard from within the heartbeat timeout.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createPresenceService } from "../../../src/modules/realtime/presence";
import { type ConnectionState, type RoomConnection, RoomCore } from "../../../src/modules/realtime/room";
import { createMemoryKv } from "../../../src/platform/kv/memory";

const TIMEOUT = 1000;
const USERS = [
  "11111111-1111-4111-8111-111111111111",
  "22222222-2222-4222-8222-222222222222",
  "33333333-3333-4333-8333-333333333333",
];
const DEVICES = ["phone", "laptop"];
const BUILDING = "44444444-4444-4444-8444-444444444444";

type Op =
  | { op: "connect"; user: number; device: number }
  | { op: "ping"; pick: number }
  | { op: "close"; pick: number }
  | { op: "advance"; ms: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant("connect" as const),
    user: fc.nat(USERS.length - 1),
    device: fc.nat(DEVICES.length - 1),
  }),
  fc.record({ op: fc.constant("ping" as const), pick: fc.nat() }),
  fc.record({ op: fc.constant("close" as const), pick: fc.nat() }),
  fc.record({ op: fc.constant("advance" as const), ms: fc.integer({ min: 1, max: 1500 }) }),
);

const key = (m: { userId: string; deviceId: string }) => `${m.userId}|${m.deviceId}`;

describe("realtime presence", () => {
  it("Property 45: presence tracking — the room and the presence service agree with the model under any sequence", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), async (ops) => {
        let now = 1_700_000_000_000;
        const kv = createMemoryKv({ now: () => now });
        const presence = createPresenceService(kv, { ttlMs: TIMEOUT });
        const conns = new Map<string, RoomConnection & { state: ConnectionState | null }>();
        const core = new RoomCore(
          { buildingId: BUILDING, connections: () => conns.values(), announce: (m) => void core.deliver(m) },
          {
            heartbeatIntervalMs: 300,
            heartbeatTimeoutMs: TIMEOUT,
            maxConnectionsPerUser: 100,
            maxFrameBytes: 65536,
            presence,
            now: () => now,
          },
        );
        const model = new Map<string, { userId: string; deviceId: string; lastSeen: number }>();
        let n = 0;
        const closedByRoom: RoomConnection[] = [];
        for (const step of ops) {
          const open = [...model.keys()];
          if (step.op === "connect") {
            const id = `c${n++}`;
            const conn = {
              id,
              state: null as ConnectionState | null,
              setState(s: ConnectionState) {
                this.state = s;
              },
              send() {},
              close() {
                closedByRoom.push(conn);
              },
            };
            conns.set(id, conn);
            await core.connect(conn, {
              userId: USERS[step.user]!,
              buildingId: BUILDING,
              role: "resident",
              deviceId: DEVICES[step.device]!,
              version: 0,
            });
            model.set(id, { userId: USERS[step.user]!, deviceId: DEVICES[step.device]!, lastSeen: now });
          } else if (step.op === "ping" && open.length) {
            const id = open[step.pick % open.length]!;
            await core.message(conns.get(id)!, JSON.stringify({ type: "ping" }));
            model.get(id)!.lastSeen = now;
          } else if (step.op === "close" && open.length) {
            const id = open[step.pick % open.length]!;
            const conn = conns.get(id)!;
            conns.delete(id);
            await core.close(conn);
            model.delete(id);
          } else if (step.op === "advance") {
            now += step.ms;
            await core.sweep();
            // The transport reports the sockets the room closed.
            for (const conn of closedByRoom.splice(0)) {
              conns.delete(conn.id);
              await core.close(conn);
            }
            for (const [id, m] of model) if (m.lastSeen <= now - TIMEOUT) model.delete(id);
          }
          const expected = [...new Set([...model.values()].map(key))].sort();
          expect((await presence.getOnlineUsers(BUILDING)).map(key).sort()).toEqual(expected);
          expect(core.localMembers().map(key).sort()).toEqual(expected);
        }
      }),
      { numRuns: 150 },
    );
  });

  it("Property 45: presence tracking — connections that die with their process expire by TTL alone", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.record({
              op: fc.constant("online" as const),
              conn: fc.nat(5),
              user: fc.nat(2),
              device: fc.nat(1),
            }),
            fc.record({ op: fc.constant("offline" as const), conn: fc.nat(5) }),
            fc.record({ op: fc.constant("advance" as const), ms: fc.integer({ min: 1, max: 1500 }) }),
          ),
          { minLength: 1, maxLength: 40 },
        ),
        async (ops) => {
          let now = 1_700_000_000_000;
          const presence = createPresenceService(createMemoryKv({ now: () => now }), { ttlMs: TIMEOUT });
          // conn id → who, and when last refreshed (setOnline doubles as the heartbeat refresh)
          const model = new Map<string, { userId: string; deviceId: string; refreshed: number }>();
          for (const step of ops) {
            if (step.op === "online") {
              const id = `c${step.conn}`;
              const prev = model.get(id);
              const who = prev ?? { userId: USERS[step.user]!, deviceId: DEVICES[step.device]! };
              await presence.setOnline({
                buildingId: BUILDING,
                connectionId: id,
                role: "resident",
                since: new Date(now).toISOString(),
                ...who,
              });
              model.set(id, { ...who, refreshed: now });
            } else if (step.op === "offline") {
              const id = `c${step.conn}`;
              const prev = model.get(id);
              if (prev && prev.refreshed > now - TIMEOUT) {
                await presence.setOffline({
                  buildingId: BUILDING,
                  connectionId: id,
                  userId: prev.userId,
                  deviceId: prev.deviceId,
                });
              }
              model.delete(id);
            } else {
              now += step.ms;
            }
            const expected = [
              ...new Set([...model.values()].filter((m) => m.refreshed > now - TIMEOUT).map(key)),
            ].sort();
            expect((await presence.getOnlineUsers(BUILDING)).map(key).sort()).toEqual(expected);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
