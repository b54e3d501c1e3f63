import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isCompressible, negotiateEncoding } from "../../../src/http/compression";
import { createTestApp, type TestApp } from "../../support/app";
import { type ProbeState, registerProbes, sampleItem } from "./probe";

describe("Accept-Encoding negotiation", () => {
  it.each([
    [undefined, "identity"],
    ["", "identity"],
    ["gzip", "gzip"],
    ["x-gzip", "gzip"],
    ["br", "br"],
    ["gzip, br", "br"],
    ["gzip;q=1, br;q=1", "br"],
    ["gzip;q=0.9, br;q=0.8", "gzip"],
    ["br;q=0, gzip", "gzip"],
    ["br;q=0, gzip;q=0", "identity"],
    ["*", "br"],
    ["*;q=0.5, gzip;q=0.8", "gzip"],
    ["*;q=0", "identity"],
    ["identity", "identity"],
    ["gzip;q=0.5, identity;q=1", "identity"],
    ["GZIP;Q=0.5", "gzip"],
    ["gzip;q=abc", "identity"],
    ["deflate, compress", "identity"],
  ])("%j → %s", (header, expected) => {
    expect(negotiateEncoding(header)).toBe(expected);
  });

  it("compresses text-like types only", () => {
    for (const t of [
      "application/json",
      "application/problem+json",
      "text/html; charset=utf-8",
      "image/svg+xml",
    ])
      expect(isCompressible(t)).toBe(true);
    for (const t of [
      "image/png",
      "application/zip",
      "application/gzip",
      "text/event-stream",
      "video/mp4",
      null,
    ])
      expect(isCompressible(t)).toBe(false);
  });
});

describe("compression middleware", () => {
  let t: TestApp;
  const state: ProbeState = { items: [sampleItem(1, 4000), sampleItem(2, 10)] };
  beforeAll(async () => {
    t = await createTestApp();
    registerProbes(t, state);
  });
  afterAll(() => t.close());
  const big = "/api/v1/probe/items/item-1";
  const small = "/api/v1/probe/items/item-2";

  it("gzips and brotli-encodes bodies over 1 KB, with Vary and an exact Content-Length", async () => {
    const plain = await (await t.request(big)).text();
    const gz = await t.request(big, { headers: { "accept-encoding": "gzip" } });
    expect(gz.headers.get("content-encoding")).toBe("gzip");
    expect(gz.headers.get("vary")).toBe("Accept-Encoding");
    const gzBytes = Buffer.from(await gz.arrayBuffer());
    expect(Number(gz.headers.get("content-length"))).toBe(gzBytes.byteLength);
    expect(gunzipSync(gzBytes).toString()).toBe(plain);
    const br = await t.request(big, { headers: { "accept-encoding": "gzip, deflate, br" } });
    expect(br.headers.get("content-encoding")).toBe("br");
    expect(brotliDecompressSync(Buffer.from(await br.arrayBuffer())).toString()).toBe(plain);
  });

  it("leaves small bodies alone but still says Vary", async () => {
    const res = await t.request(small, { headers: { "accept-encoding": "gzip" } });
    expect(res.headers.get("content-encoding")).toBeNull();
    expect(res.headers.get("vary")).toBe("Accept-Encoding");
  });

  it("never encodes already-compressed types or no-transform responses", async () => {
    const text = "x".repeat(5000);
    state.body = { contentType: "image/png", text };
    let res = await t.request("/api/v1/probe/raw", { headers: { "accept-encoding": "gzip" } });
    expect(res.headers.get("content-encoding")).toBeNull();
    expect(res.headers.get("vary")).toBeNull();
    state.body = {
      contentType: "application/json",
      text: JSON.stringify(text),
      cacheControl: "public, no-transform",
    };
    res = await t.request("/api/v1/probe/raw", { headers: { "accept-encoding": "gzip" } });
    expect(res.headers.get("content-encoding")).toBeNull();
    expect(await res.text()).toBe(JSON.stringify(text));
    state.body = undefined;
  });

  it("compresses problem+json errors and the OpenAPI document too", async () => {
    const doc = await t.request("/openapi.json", { headers: { "accept-encoding": "br" } });
    expect(doc.headers.get("content-encoding")).toBe("br");
  });

  it("stays off when the host compresses (Workers)", async () => {
    t.services.compressInApp = false;
    try {
      const res = await t.request(big, { headers: { "accept-encoding": "gzip" } });
      expect(res.headers.get("content-encoding")).toBeNull();
    } finally {
      t.services.compressInApp = true;
    }
  });
});
