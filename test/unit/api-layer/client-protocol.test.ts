import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIN_PROTOCOL_VERSION, PROTOCOL_HEADER, PROTOCOL_VERSION } from "../../../src/protocol/version";
import { createTestApp, type TestApp } from "../../support/app";

describe("client protocol (Horizon-Protocol)", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it("serves the SDK's own protocol and requests without the header", async () => {
    expect(PROTOCOL_VERSION).toBeGreaterThanOrEqual(MIN_PROTOCOL_VERSION);
    const sdk = await t.request("/api/v1/meta/versions", {
      headers: { [PROTOCOL_HEADER]: String(PROTOCOL_VERSION) },
    });
    expect(sdk.status).toBe(200);
    expect((await t.request("/api/v1/meta/versions")).status).toBe(200);
  });

  it("refuses an older client with 426 UPGRADE_REQUIRED naming the oldest protocol served", async () => {
    const res = await t.request("/api/v1/sync/pull", {
      method: "POST",
      headers: { [PROTOCOL_HEADER]: String(MIN_PROTOCOL_VERSION - 1), "content-type": "application/json" },
      body: JSON.stringify({ buildings: {} }),
    });
    expect(res.status).toBe(426);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    const problem = (await res.json()) as Record<string, unknown>;
    expect(problem).toMatchObject({
      code: "UPGRADE_REQUIRED",
      minProtocol: MIN_PROTOCOL_VERSION,
      protocol: MIN_PROTOCOL_VERSION - 1,
    });
    expect(problem.correlationId).toEqual(expect.any(String));
  });

  it("answers 400 to a header that is not a positive integer", async () => {
    for (const bad of ["two", "0", "-1", "1.5"]) {
      const res = await t.request("/api/v1/meta/versions", { headers: { [PROTOCOL_HEADER]: bad } });
      expect(res.status, bad).toBe(400);
    }
  });
});
