/**
 * What the standalone host answers around the app, under Bun (`npm start`, spawned) and Node
 * (the same listen code in-process): a silent event stream stays open past Bun's 10 s idle
 * timeout, and refusals made before the router (room path without Upgrade, an oversized request
 * head, a refused WebSocket upgrade) are problem+json with a correlation id.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { readSse, type SseMessage } from "../../src/client/realtime/sse";
import { CloseCodes } from "../../src/protocol/realtime";
import { type BunHost, startBunHost } from "../integration/realtime/bun-host";
import {
  closeCodeOf,
  openRoom,
  openStream,
  type RealtimeServer,
  roomToken,
  startRealtimeServer,
  waitUntil,
} from "../integration/realtime/harness";
import { createBuilding } from "../support/fixtures";

/** Heartbeats far apart, so the streams below really are silent for the whole window. */
const SLOW_HEARTBEAT = { REALTIME_HEARTBEAT_INTERVAL_MS: "60000", REALTIME_HEARTBEAT_TIMEOUT_MS: "180000" };
/** Longer than Bun's default idleTimeout (10 s), which cut such streams before the fix. */
const SILENCE_MS = 15_000;

interface Host {
  name: string;
  base: string;
  wsBase: string;
  buildingId: string;
  member: { authorization: string };
  manager: { authorization: string };
  /** A member the revocation test removes (nobody else uses them). */
  removable: { id: string; auth: { authorization: string } };
}

let bun: BunHost;
let node: RealtimeServer;
const hosts: Host[] = [];

beforeAll(async () => {
  [bun, node] = await Promise.all([
    startBunHost(SLOW_HEARTBEAT),
    startRealtimeServer("pglite", SLOW_HEARTBEAT),
  ]);
  const b = await createBuilding(node.t.services);
  hosts.push(
    {
      name: "bun",
      base: bun.base,
      wsBase: bun.wsBase,
      buildingId: bun.buildingId,
      member: (await bun.signIn("lea@demo.horizon.example")).auth,
      manager: (await bun.signIn("manager@demo.horizon.example")).auth,
      removable: await bun.signIn("omer@demo.horizon.example"),
    },
    {
      name: "node",
      base: node.base,
      wsBase: node.wsBase,
      buildingId: b.id,
      member: b.resident.auth,
      manager: b.manager.auth,
      removable: b.neighbour,
    },
  );
}, 120_000);

afterAll(async () => {
  await Promise.allSettled([bun?.stop(), node?.close()]);
});

async function expectProblem(res: Response, status: number, code: string, correlationId?: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  const body = (await res.json()) as { status: number; code: string; correlationId: string };
  expect(body).toMatchObject({ status, code });
  expect(res.headers.get("x-correlation-id")).toBe(body.correlationId);
  if (correlationId) expect(body.correlationId).toBe(correlationId);
  return body;
}

/** Opens a room socket that the server refuses; answers the HTTP refusal (status, headers, body). */
function refusedUpgrade(url: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
    (resolve, reject) => {
      const ws = new WebSocket(url, { headers });
      ws.on("open", () => reject(new Error("the upgrade was accepted")));
      ws.on("error", () => {});
      ws.on("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (d) => {
          body += d;
        });
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      });
    },
  );
}

describe.each(["bun", "node"])("the standalone host on %s", (name) => {
  const host = () => hosts.find((h) => h.name === name)!;

  it("answers a room path without Upgrade with 426 problem+json and a correlation id", async () => {
    const h = host();
    const res = await fetch(`${h.base}/parties/building/${h.buildingId}`, {
      headers: { "x-correlation-id": `host-426-${name}` },
    });
    await expectProblem(res, 426, "UPGRADE_REQUIRED", `host-426-${name}`);
    expect(res.headers.get("upgrade")).toBe("websocket");
    await expectProblem(await fetch(`${h.base}/parties/building/${h.buildingId}`), 426, "UPGRADE_REQUIRED");
  });

  it("answers a 69 KB URL with 431 problem+json, and normal requests still work", async () => {
    const h = host();
    const res = await fetch(`${h.base}/api/v1/meta/versions?q=${"a".repeat(69 * 1024)}`);
    await expectProblem(res, 431, "HEADERS_TOO_LARGE");
    const big = await fetch(`${h.base}/health`, { headers: { "x-padding": "b".repeat(20_000) } });
    await expectProblem(big, 431, "HEADERS_TOO_LARGE");
    expect((await fetch(`${h.base}/health`)).status).toBe(200);
  });

  it("refuses a WebSocket upgrade with problem+json carrying X-Correlation-Id", async () => {
    const h = host();
    const room = `${h.wsBase}/parties/building/${h.buildingId}`;
    const forged = await refusedUpgrade(`${room}?token=not-a-token`, {
      "x-correlation-id": `host-401-${name}`,
    });
    expect(forged.status).toBe(401);
    expect(forged.headers["content-type"]).toBe("application/problem+json");
    expect(forged.headers["x-correlation-id"]).toBe(`host-401-${name}`);
    expect(JSON.parse(forged.body)).toMatchObject({
      code: "UNAUTHENTICATED",
      correlationId: `host-401-${name}`,
    });
    const missing = await refusedUpgrade(room);
    expect(missing.status).toBe(401);
    expect(missing.headers["x-correlation-id"]).toBe(JSON.parse(missing.body).correlationId);
  });
});

describe("a member's removal on each transport", () => {
  it.each(["bun", "node"])("closes the member's socket and stream within 1 s on %s", async (name) => {
    const h = hosts.find((x) => x.name === name)!;
    const u = h.removable;
    const socket = await openRoom(
      `${h.wsBase}/parties/building/${h.buildingId}?token=${await roomToken(h.base, { ...u, email: "", token: "" }, h.buildingId, "phone")}`,
    );
    await socket.next("welcome");
    const stream = await openStream(h.base, h.buildingId, u.auth, "web");
    await waitUntil(() => stream.messages.some((m) => m.event === "presence.list"), 5000, "stream open");
    const list = await fetch(`${h.base}/api/v1/buildings/${h.buildingId}/members?limit=100`, {
      headers: h.manager,
    });
    const { data } = (await list.json()) as { data: Array<{ id: string; userId: string }> };
    const memberId = data.find((m) => m.userId === u.id)!.id;
    const res = await fetch(`${h.base}/api/v1/buildings/${h.buildingId}/members/${memberId}`, {
      method: "DELETE",
      headers: h.manager,
    });
    expect(res.status).toBe(204);
    await waitUntil(() => closeCodeOf(socket.ws) !== null && stream.ended, 1000, "socket and stream closed");
    expect(closeCodeOf(socket.ws)).toBe(CloseCodes.REVOKED);
    expect(stream.messages.at(-1)?.event).toBe("error");
  });
});

describe("a silent event stream", () => {
  it(
    `stays open through ${SILENCE_MS / 1000} s without a byte, on Bun and on Node, and still delivers`,
    async () => {
      await Promise.all(
        hosts.map(async (h) => {
          const abort = new AbortController();
          const res = await fetch(
            `${h.base}/api/v1/buildings/${h.buildingId}/events?deviceId=idle-${h.name}`,
            {
              headers: h.member,
              signal: abort.signal,
            },
          );
          expect(res.status).toBe(200);
          const messages: SseMessage[] = [];
          let ended: string | null = null;
          const reading = readSse(res.body!, (m) => messages.push(m)).then(
            () => {
              ended = "ended";
            },
            (err) => {
              ended = String(err);
            },
          );
          const deadline = Date.now() + 10_000;
          while (!messages.some((m) => m.event === "presence.list")) {
            if (Date.now() > deadline) throw new Error(`${h.name}: no presence.list`);
            await sleep(20);
          }
          const before = messages.length;
          await sleep(SILENCE_MS);
          expect({ host: h.name, ended }).toEqual({ host: h.name, ended: null });
          expect(messages.length).toBe(before); // really silent: no heartbeat in the window

          // The same stream (no reconnect: a fetch never reconnects) still carries the next write.
          const write = await fetch(`${h.base}/api/v1/buildings/${h.buildingId}/apartments`, {
            method: "POST",
            headers: { ...h.manager, "content-type": "application/json" },
            body: JSON.stringify({ number: `${h.name}${Date.now() % 100000}` }),
          });
          expect(write.status).toBe(201);
          const until = Date.now() + 5_000;
          while (!messages.some((m) => m.event === "poke")) {
            if (Date.now() > until) throw new Error(`${h.name}: no poke after the silence; ended=${ended}`);
            await sleep(20);
          }
          expect(messages.filter((m) => m.event === "open")).toHaveLength(1);
          abort.abort();
          await reading;
        }),
      );
    },
    SILENCE_MS + 30_000,
  );
});
