import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../../support/app";
import { type ProbeState, registerProbes } from "../../unit/api-layer/probe";

describe("Property 12: Rate limit enforcement", () => {
  let t: TestApp;
  const state: ProbeState = { items: [] };
  let run = 0;
  beforeAll(async () => {
    t = await createTestApp({ env: { API_VERSIONS: "v1,v2" } });
    registerProbes(t, state);
  });
  afterAll(() => t.close());

  it("Property 12: a client over its limit gets 429 problem+json with Retry-After; within it, RateLimit headers count down", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 25 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 3600 }),
        fc.constantFrom("read", "write", "auth"),
        async (limit, requests, windowSeconds, cls) => {
          const cfg = t.services.config;
          const spec = { limit, windowSeconds };
          if (cls === "read") cfg.RATE_LIMIT_READ = spec;
          else if (cls === "write") cfg.RATE_LIMIT_WRITE = spec;
          else cfg.RATE_LIMIT_AUTH = spec;
          const ip = `10.${(run >> 8) & 255}.${run & 255}.${++run % 250}`;
          const [method, path] =
            cls === "read"
              ? ["GET", "/api/v2/probe/raw"]
              : cls === "write"
                ? ["POST", "/api/v2/probe/write"]
                : ["POST", "/api/v2/probe/auth/login"];
          for (let i = 1; i <= requests; i++) {
            const res = await t.request(path, { method }, ip);
            if (i <= limit) {
              expect(res.status).toBe(200);
              expect(res.headers.get("ratelimit-limit")).toBe(String(limit));
              expect(res.headers.get("ratelimit-remaining")).toBe(String(limit - i));
            } else {
              expect(res.status).toBe(429);
              expect(res.headers.get("content-type")).toBe("application/problem+json");
              const retry = Number(res.headers.get("retry-after"));
              expect(Number.isInteger(retry)).toBe(true);
              expect(retry).toBeGreaterThanOrEqual(1);
              expect(retry).toBeLessThanOrEqual(windowSeconds);
              expect(res.headers.get("ratelimit-remaining")).toBe("0");
            }
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
