/**
 * The rollout's probes know which Worker version answered (issue 20 §3): under wrangler dev, a
 * request carrying Cloudflare-Workers-Version-Overrides gets the version metadata id back in
 * x-horizon-version; a request without it gets no such header.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SERVED_BY_HEADER } from "../../scripts/deploy/probes";
import { startUpstashBridge, type UpstashBridge } from "../support/upstash-bridge";
import { startWranglerDev, type WranglerDev } from "./wrangler";

describe("the Worker names its version to pinned requests", () => {
  let edge: WranglerDev;
  let upstash: UpstashBridge;
  beforeAll(async () => {
    upstash = await startUpstashBridge();
    // Liveness touches no database: an unreachable one is enough for the config to parse.
    edge = await startWranglerDev({
      DATABASE_URL: "postgres://probe:probe@127.0.0.1:9/none",
      UPSTASH_REDIS_REST_URL: upstash.url,
      UPSTASH_REDIS_REST_TOKEN: upstash.token,
      JWT_SECRET: "edge-version-secret-edge-version-secret-0123",
    });
  }, 120_000);
  afterAll(async () => {
    await edge?.stop();
    await upstash?.stop();
  });

  it("answers x-horizon-version with the version id only when the request is pinned", async () => {
    const pinned = await fetch(`${edge.url}/health`, {
      headers: {
        "Cloudflare-Workers-Version-Overrides": 'horizon-api="00000000-0000-4000-8000-000000000000"',
      },
    });
    expect(pinned.status).toBe(200);
    expect(pinned.headers.get(SERVED_BY_HEADER)).toMatch(/^[0-9a-f-]{36}$/);
    expect(await pinned.json()).toBeTruthy();
    const plain = await fetch(`${edge.url}/health`);
    expect(plain.status).toBe(200);
    expect(plain.headers.get(SERVED_BY_HEADER)).toBeNull();
    await plain.body?.cancel();
  });
});
