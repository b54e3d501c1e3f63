/**
 * The kv-backed circuit breaker on memory and on a real Redis: the seed's rule (5 failures open,
 * half-open after the open period, 3 successes close, a failure while half-open reopens), and its
 * state shared between two breaker instances (two processes) over the same kv. Plus the alert
 * throttle: one alert per key per 5 minutes, to the operator webhook.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { raiseAlert } from "../../../src/modules/webhooks/alerts";
import type { Kv } from "../../../src/platform/kv";
import { createMemoryKv } from "../../../src/platform/kv/memory";
import { createRedisKv } from "../../../src/platform/kv/redis";
import { createKvBreaker } from "../../../src/platform/kv-breaker";
import { createTestApp } from "../../support/app";
import { REDIS_URL } from "../../support/env";

const kvs: Array<[string, () => Kv]> = [
  ["memory", () => createMemoryKv()],
  ["redis", () => createRedisKv({ url: REDIS_URL, prefix: `test:kvbreaker:${crypto.randomUUID()}:` })],
];

describe.each(kvs)("kv breaker on %s", (_name, make) => {
  const kv = make();
  afterAll(() => kv.close());

  it("opens after 5 failures, half-opens after the open period, closes after 3 successes; shared by two instances", async () => {
    let now = 1_000_000;
    const name = `ep-${crypto.randomUUID()}`;
    const changes: string[] = [];
    const a = createKvBreaker({
      kv,
      name,
      now: () => now,
      onStateChange: (c) => changes.push(`${c.from}>${c.to}`),
    });
    const b = createKvBreaker({ kv, name, now: () => now });
    for (let i = 0; i < 4; i++) await (i % 2 ? a : b).failure();
    expect((await a.status()).state).toBe("closed");
    // A success resets the consecutive count.
    await b.success();
    for (let i = 0; i < 4; i++) await a.failure();
    expect((await b.status()).state).toBe("closed");
    await b.failure();
    expect(await a.admit()).toMatchObject({ allowed: false, state: "open", retryAfterMs: 30_000 });
    now += 29_999;
    expect((await b.admit()).allowed).toBe(false);
    now += 1;
    expect(await b.admit()).toMatchObject({ allowed: true, state: "half-open" });
    // A failure while half-open reopens it for another period.
    await a.failure();
    expect((await b.status()).state).toBe("open");
    now += 30_000;
    await a.success();
    await b.success();
    expect((await a.status()).state).toBe("half-open");
    await a.success();
    expect((await b.status()).state).toBe("closed");
    expect(changes).toEqual(["half-open>open", "half-open>closed"]);
  });

  it("success(admitted) acts on the state admit() answered: probes close it, a closed one forgets its failures", async () => {
    let now = 5_000_000;
    const name = `ep-${crypto.randomUUID()}`;
    const a = createKvBreaker({ kv, name, now: () => now });
    const b = createKvBreaker({ kv, name, now: () => now });
    // Closed: a success reported with its admission clears the consecutive failures.
    for (let i = 0; i < 4; i++) await a.failure();
    await b.success(await b.admit());
    for (let i = 0; i < 4; i++) await a.failure();
    expect((await a.status()).state).toBe("closed");
    await a.failure();
    expect((await b.admit()).allowed).toBe(false);
    now += 30_000;
    // Half-open: three probe successes, each reported with its own admission, close it.
    for (let i = 0; i < 3; i++) {
      const admitted = await (i % 2 ? a : b).admit();
      expect(admitted).toMatchObject({ allowed: true, state: "half-open" });
      await (i % 2 ? b : a).success(admitted);
      expect((await a.status()).state).toBe(i < 2 ? "half-open" : "closed");
    }
  });
});

describe("alerts", () => {
  // Building the app on a loaded machine takes most of this test's time.
  it("go out at most once per key per 5 minutes, to the log and the operator webhook", {
    timeout: 180_000,
  }, async () => {
    const posts: unknown[] = [];
    const server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c) => {
        body += c;
      });
      req.on("end", () => {
        posts.push(JSON.parse(body));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    let now = Date.now();
    const t = await createTestApp({
      env: { ALERT_WEBHOOK_URL: `http://127.0.0.1:${port}/alerts` },
      clock: { now: () => new Date(now) },
      kv: createMemoryKv({ now: () => now }),
    });
    try {
      const alert = { key: `k-${crypto.randomUUID()}`, title: "Webhook endpoint circuit open", detail: "x" };
      expect(await raiseAlert(t.services, alert)).toBe(true);
      expect(await raiseAlert(t.services, alert)).toBe(false);
      expect(await raiseAlert(t.services, { ...alert, key: `${alert.key}-other` })).toBe(true);
      now += 5 * 60 * 1000 - 1;
      expect(await raiseAlert(t.services, alert)).toBe(false);
      now += 2;
      expect(await raiseAlert(t.services, alert)).toBe(true);
      expect(posts).toHaveLength(3);
      expect(posts[0]).toMatchObject({ key: alert.key, title: alert.title, detail: "x", service: "horizon" });
      expect(t.logs.filter((l) => l.event === "alert")).toHaveLength(3);
    } finally {
      await t.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
