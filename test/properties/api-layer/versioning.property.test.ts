import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../../support/app";

describe("Property 7: Deprecation header presence", () => {
  let t: TestApp;
  let now = new Date();
  beforeAll(async () => {
    t = await createTestApp({
      clock: { now: () => now },
      env: { RATE_LIMIT_ENABLED: "false", API_VERSIONS: "v1,v2" },
    });
  });
  afterAll(() => t.close());

  it("Property 7: every response of a deprecated version carries Deprecation, Sunset and Link until the sunset, then 410", async () => {
    const day = 86_400_000;
    const base = Date.parse("2026-01-01T00:00:00Z");
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 2000 }), // deprecation day offset
        fc.integer({ min: 1, max: 800 }), // sunset after deprecation, days
        fc.integer({ min: -400, max: 3000 }), // "now", days from base
        fc.constantFrom("v1", "v2"),
        fc.constantFrom("/meta/versions", "/meta/versions?days=3", "/unknown/path", "/meta/versions?days=0"),
        fc.constantFrom("GET", "POST", "HEAD"),
        async (depDay, sunsetDays, nowDay, version, path, method) => {
          const deprecatedAt = new Date(base + depDay * day);
          const sunsetAt = new Date(deprecatedAt.getTime() + sunsetDays * day);
          t.services.config.API_DEPRECATIONS.splice(0, Infinity, { version, deprecatedAt, sunsetAt });
          now = new Date(base + nowDay * day + 3600_000);
          const res = await t.request(`/api/${version}${path}`, { method });
          if (now >= sunsetAt) {
            expect(res.status).toBe(410);
            if (method !== "HEAD") expect((await res.json()).code).toBe("VERSION_SUNSET");
          } else {
            expect(res.status).not.toBe(410);
            expect(res.headers.get("deprecation")).toBe(`@${Math.floor(deprecatedAt.getTime() / 1000)}`);
          }
          expect(res.headers.get("sunset")).toBe(sunsetAt.toUTCString());
          expect(res.headers.get("link")).toContain('rel="deprecation"');
          const other = version === "v1" ? "v2" : "v1";
          const untouched = await t.request(`/api/${other}/meta/versions`);
          expect(untouched.headers.get("deprecation")).toBeNull();
          expect(untouched.status).toBe(200);
        },
      ),
      { numRuns: 100 },
    );
  });
});
