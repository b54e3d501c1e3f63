import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../../support/app";

describe("API versions", () => {
  let t: TestApp;
  let now = new Date("2026-06-01T12:00:00Z");
  beforeAll(async () => {
    t = await createTestApp({
      clock: { now: () => now },
      env: { API_DEPRECATIONS: "v1:2026-03-01:2027-01-01", API_MIGRATION_DOC: "https://docs.example/v2" },
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
