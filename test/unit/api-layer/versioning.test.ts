import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { USAGE_FLUSH_MS } from "../../../src/http/versioning";
import type { Kv } from "../../../src/platform/kv";
import { createMemoryKv } from "../../../src/platform/kv/memory";
import { createTestApp, type TestApp } from "../../support/app";

describe("API versions", () => {
  let t: TestApp;
  let now = new Date("2026-06-01T12:00:00Z");
  beforeAll(async () => {
    t = await createTestApp({
      clock: { now: () => now },
      env: {
        API_VERSIONS: "v1,v2",
        API_DEPRECATIONS: "v1:2026-03-01:2027-01-01",
        API_MIGRATION_DOC: "https://docs.example/v2",
      },
    });
  });
  afterAll(() => t.close());

  it("mounts v1 and v2 from one loop; only the deprecated one carries the headers", async () => {
    const v1 = await t.request("/api/v1/meta/versions");
    expect(v1.status).toBe(200);
    expect(v1.headers.get("deprecation")).toBe(`@${Date.parse("2026-03-01") / 1000}`);
    expect(v1.headers.get("sunset")).toBe("Fri, 01 Jan 2027 00:00:00 GMT");
    expect(v1.headers.get("link")).toBe('<https://docs.example/v2>; rel="deprecation"; type="text/html"');
    const v2 = await t.request("/api/v2/meta/versions");
    expect(v2.status).toBe(200);
    expect(v2.headers.get("deprecation")).toBeNull();
    // Errors of a deprecated version carry them too.
    const missing = await t.request("/api/v1/no-such-route");
    expect(missing.status).toBe(404);
    expect(missing.headers.get("sunset")).not.toBeNull();
  });

  it("answers 410 VERSION_SUNSET after the sunset date", async () => {
    now = new Date("2027-01-01T00:00:00Z");
    try {
      const res = await t.request("/api/v1/meta/versions");
      expect(res.status).toBe(410);
      expect(res.headers.get("sunset")).toBe("Fri, 01 Jan 2027 00:00:00 GMT");
      expect(await res.json()).toMatchObject({ code: "VERSION_SUNSET", version: "v1" });
      expect((await t.request("/api/v2/meta/versions")).status).toBe(200);
    } finally {
      now = new Date("2026-06-01T12:00:00Z");
    }
  });

  it("counts requests per version per day and reports them", async () => {
    now = new Date("2026-06-02T08:00:00Z");
    for (let i = 0; i < 3; i++) await t.request("/api/v1/meta/versions?days=2");
    const res = await t.request("/api/v2/meta/versions?days=2");
    const body = await res.json();
    const v1 = body.data.find((v: { version: string }) => v.version === "v1");
    const v2 = body.data.find((v: { version: string }) => v.version === "v2");
    expect(v1).toMatchObject({ status: "deprecated", sunsetAt: "2027-01-01T00:00:00.000Z" });
    expect(v1.days[0]).toEqual({ date: "2026-06-02", requests: 3 });
    expect(v1.days[1].date).toBe("2026-06-01");
    expect(v1.days[1].requests).toBeGreaterThan(0);
    expect(v2.days[0]).toEqual({ date: "2026-06-02", requests: 1 });
    expect(v2.status).toBe("active");
    expect(res.headers.get("cache-control")).toBe("public, max-age=60, s-maxage=60");
    expect((await t.request("/api/v2/meta/versions?days=1000")).status).toBe(400);
  });

  it("documents the layer in /openapi.json", async () => {
    const doc = await (await t.request("/openapi.json")).json();
    const v1 = doc.paths["/api/v1/meta/versions"].get;
    const v2 = doc.paths["/api/v2/meta/versions"].get;
    expect(v1.deprecated).toBe(true);
    expect(v2.deprecated).toBeUndefined();
    expect(v1.responses["200"].headers.Sunset).toEqual({ $ref: "#/components/headers/Sunset" });
    expect(v1.responses["410"]).toBeDefined();
    expect(v2.responses["200"].headers).toMatchObject({
      "RateLimit-Limit": expect.any(Object),
      ETag: expect.any(Object),
      Vary: expect.any(Object),
    });
    expect(v2.responses["304"]).toBeDefined();
    expect(v2.responses["429"].headers["Retry-After"]).toBeDefined();
    expect(v2.parameters).toEqual(
      expect.arrayContaining([
        { $ref: "#/components/parameters/fields" },
        { $ref: "#/components/parameters/IfNoneMatch" },
      ]),
    );
    expect(doc.components.parameters.fields.in).toBe("query");
    expect(doc.components.headers["RateLimit-Reset"]).toBeDefined();
  });
});

describe("API version usage counts", () => {
  it("reach kv as one write per version and day every USAGE_FLUSH_MS; a failed write is retried", async () => {
    let now = new Date("2026-07-01T10:00:00Z");
    const store = createMemoryKv();
    let writes = 0;
    let failures = 0;
    // The real memory kv, with its writes counted and the next `failures` of them refused.
    const kv = new Proxy(store, {
      get(target, name, receiver) {
        if (name !== "incr") return Reflect.get(target, name, receiver);
        return (key: string, by?: number, ttlMs?: number) => {
          writes += 1;
          if (failures > 0) {
            failures -= 1;
            return Promise.reject(new Error("kv unavailable"));
          }
          return target.incr(key, by, ttlMs);
        };
      },
    }) as Kv;
    const t = await createTestApp({ clock: { now: () => now }, kv, env: { API_VERSIONS: "v1,v2" } });
    const key = "apiver:v2:2026-07-01";
    const request = async () => expect((await t.request("/api/v2/no-such-route")).status).toBe(404);
    try {
      for (let i = 0; i < 3; i++) await request();
      expect(writes).toBe(0);
      expect(await store.get(key)).toBeNull();

      now = new Date(now.getTime() + USAGE_FLUSH_MS);
      await request();
      await vi.waitFor(async () => expect(await store.get(key)).toBe("4"));
      expect(writes).toBe(1);

      failures = 1;
      await request();
      now = new Date(now.getTime() + USAGE_FLUSH_MS);
      await request();
      await vi.waitFor(() => expect(writes).toBe(2));
      expect(await store.get(key)).toBe("4");

      // The report flushes this process's counts first (the two kept back and its own request).
      const res = await t.request("/api/v2/meta/versions?days=1");
      const v2 = (await res.json()).data.find((v: { version: string }) => v.version === "v2");
      expect(v2.days).toEqual([{ date: "2026-07-01", requests: 7 }]);
      expect(writes).toBe(3);
    } finally {
      await t.close();
      await store.close();
    }
  });
});
