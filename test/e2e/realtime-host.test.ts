/**
 * What the standalone host does around the app, under Bun (`npm start`, spawned) and Node (the
 * same listen code in-process): a silent event stream stays open past Bun's 10 s idle timeout.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readSse, type SseMessage } from "../../src/client/realtime/sse";
import { type BunHost, startBunHost } from "../integration/realtime/bun-host";
import { type RealtimeServer, startRealtimeServer } from "../integration/realtime/harness";
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
    },
    {
      name: "node",
      base: node.base,
      wsBase: node.wsBase,
      buildingId: b.id,
      member: b.resident.auth,
      manager: b.manager.auth,
    },
  );
}, 120_000);

afterAll(async () => {
  await Promise.allSettled([bun?.stop(), node?.close()]);
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
