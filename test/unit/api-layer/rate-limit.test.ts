import { createServer, type Server, type Socket } from "node:net";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signAccessToken } from "../../../src/modules/identity/tokens";
import type { RateLimiter } from "../../../src/platform/ratelimit";
import { createFlexibleRateLimiter } from "../../../src/platform/ratelimit/flexible";
import { createTestApp, TEST_JWT_SECRET, type TestApp } from "../../support/app";
import { type ProbeState, registerProbes, sampleItem } from "./probe";

const bearer = async (userId: string) => ({
  authorization: `Bearer ${await signAccessToken({ userId, isAdmin: false }, TEST_JWT_SECRET, new Date())}`,
});

describe("rate limiting", () => {
  let t: TestApp;
  const state: ProbeState = { items: [sampleItem(1)] };
  beforeAll(async () => {
    t = await createTestApp({
      env: { RATE_LIMIT_READ: "1000/60s", RATE_LIMIT_AUTH: "3/60s", RATE_LIMIT_WRITE: "5/60s" },
    });
    registerProbes(t, state);
  });
  afterAll(() => t.close());

  it("holds the design's example: 1000 requests per user pass, request 1001 gets 429 with Retry-After", async () => {
    const headers = await bearer("user-1000");
    for (let i = 1; i <= 1000; i++) {
      const res = await t.request("/api/v1/probe/items", { headers });
      if (res.status !== 200) throw new Error(`request ${i} answered ${res.status}`);
      if (i === 1 || i === 1000) {
        expect(res.headers.get("ratelimit-limit")).toBe("1000");
        expect(res.headers.get("ratelimit-remaining")).toBe(String(1000 - i));
        expect(Number(res.headers.get("ratelimit-reset"))).toBeGreaterThan(0);
      }
    }
    const refused = await t.request("/api/v1/probe/items", { headers });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("content-type")).toBe("application/problem+json");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(refused.headers.get("ratelimit-remaining")).toBe("0");
    expect(await refused.json()).toMatchObject({ code: "RATE_LIMITED", class: "read", limit: 1000 });
    // Another user, and the same user's anonymous IP, keep their own budgets.
    expect((await t.request("/api/v1/probe/items", { headers: await bearer("user-other") })).status).toBe(
      200,
    );
    expect((await t.request("/api/v1/probe/items")).status).toBe(200);
  });

  it("limits anonymous callers per IP and auth routes strictly", async () => {
    for (let i = 0; i < 3; i++)
      expect((await t.request("/api/v1/probe/auth/login", { method: "POST" }, "198.51.100.1")).status).toBe(
        200,
      );
    const refused = await t.request("/api/v1/probe/auth/login", { method: "POST" }, "198.51.100.1");
    expect(refused.status).toBe(429);
    expect((await refused.json()).class).toBe("auth");
    expect((await t.request("/api/v1/probe/auth/login", { method: "POST" }, "198.51.100.2")).status).toBe(
      200,
    );
    // Writes have their own counter: the refused IP can still write.
    const write = await t.request("/api/v1/probe/write", { method: "POST" }, "198.51.100.1");
    expect(write.status).toBe(200);
    expect(write.headers.get("ratelimit-limit")).toBe("5");
  });

  it("treats an invalid token as anonymous (per IP)", async () => {
    const res = await t.request(
      "/api/v1/probe/items",
      { headers: { authorization: "Bearer not.a.jwt" } },
      "198.51.100.9",
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("ratelimit-remaining")).toBe("999");
  });

  describe("when the backend does not answer", () => {
    let silent: Server;
    const sockets: Socket[] = [];
    let original: RateLimiter;
    let stalled: RateLimiter;
    beforeAll(async () => {
      // A real TCP peer that accepts and never replies: what a hung Redis looks like.
      silent = createServer((s) => sockets.push(s));
      await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
      const port = (silent.address() as { port: number }).port;
      const client = new Redis({ port, host: "127.0.0.1", maxRetriesPerRequest: 0, lazyConnect: false });
      client.on("error", () => {});
      stalled = createFlexibleRateLimiter({ store: "redis", client, ownsClient: true });
      original = t.services.rateLimiter;
      t.services.rateLimiter = stalled;
    });
    afterAll(async () => {
      t.services.rateLimiter = original;
      await stalled.close();
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    });

    it("fails open for reads and writes, closed (503) for auth routes", async () => {
      const read = await t.request("/api/v1/probe/items");
      expect(read.status).toBe(200);
      expect(read.headers.get("ratelimit-limit")).toBeNull();
      expect((await t.request("/api/v1/probe/write", { method: "POST" })).status).toBe(200);
      const auth = await t.request("/api/v1/probe/auth/login", { method: "POST" });
      expect(auth.status).toBe(503);
      expect(auth.headers.get("retry-after")).toBe("1");
      expect(await auth.json()).toMatchObject({ code: "DEPENDENCY_UNAVAILABLE" });
      expect(t.logs.some((l) => l.event === "rate_limit_unavailable")).toBe(true);
    });
  });
});
