/**
 * One base URL form for the whole SDK: the sync and realtime clients take the server origin, and
 * an origin with `/api/v1` (the old sync form) reaches the same paths.
 */
import { describe, expect, it } from "vitest";
import { RealtimeClient } from "../../src/client/realtime/index";
import { SyncClient } from "../../src/client/sync/client";
import { MemoryStore } from "../../src/client/sync/store";

const recorder = () => {
  const urls: string[] = [];
  const fetch = (async (input: RequestInfo | URL) => {
    urls.push(String(input instanceof Request ? input.url : input));
    return new Response(JSON.stringify({ code: "UNAVAILABLE" }), { status: 503 });
  }) as typeof globalThis.fetch;
  return { urls, fetch };
};

describe("SDK base URL", () => {
  it.each([
    "https://api.example",
    "https://api.example/",
    "https://api.example/api/v1",
    "https://api.example/api/v1/",
  ])("%s: sync and rooms reach /api/v1 paths", async (base) => {
    const net = recorder();
    const sync = await SyncClient.open({
      baseUrl: base,
      fetch: net.fetch,
      token: () => "t",
      store: new MemoryStore(),
      buildings: ["b1"],
      intervalMs: 0,
    });
    await sync.syncNow().catch(() => {});
    const room = new RealtimeClient({
      apiBaseUrl: base,
      buildingId: "b1",
      deviceId: "d1",
      getAccessToken: () => "t",
      transport: "sse",
      fetch: net.fetch,
      random: () => 0,
    }).connect();
    for (let i = 0; i < 50 && net.urls.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    room.close();
    sync.stop();
    expect(net.urls[0]).toBe("https://api.example/api/v1/sync/pull");
    expect(net.urls[1]).toBe("https://api.example/api/v1/buildings/b1/events?deviceId=d1");
  });
});
