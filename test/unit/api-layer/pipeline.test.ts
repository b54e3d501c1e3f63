/**
 * The app-wide middlewares run as one layer (src/http/pipeline.ts). What must hold as it did with
 * one Hono layer each: a failure inside one half becomes the error handler's problem+json, and
 * the halves outside it still run (correlation id echoed, access line written, Vary added); signed
 * storage requests skip the body limit, ETag and compression.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../../support/app";

describe("the request pipeline on the real app", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { BODY_LIMIT_BYTES: "1024", RATE_LIMIT_ENABLED: "false" } });
  });
  afterAll(() => t.close());

  const accessLine = (id: string) => t.logs.find((l) => l.event === "access" && l.correlationId === id);

  it("a 413 from the body limit still gets its correlation id, access line and Vary: Accept-Language", async () => {
    const body = JSON.stringify({ email: "x".repeat(2000), password: "whatever-long" });
    const res = await t.request("/api/v1/auth/login", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "content-length": String(body.length),
        "x-correlation-id": "pipe-413",
        "accept-language": "he",
      },
      body,
    });
    expect(res.status).toBe(413);
    expect(res.headers.get("x-correlation-id")).toBe("pipe-413");
    expect(res.headers.get("vary") ?? "").toMatch(/Accept-Language/);
    expect(await res.json()).toMatchObject({ code: "PAYLOAD_TOO_LARGE", correlationId: "pipe-413" });
    expect(accessLine("pipe-413")).toMatchObject({ status: 413, method: "POST", path: "/api/v1/auth/login" });
  });

  it("a malformed If-None-Match is a 400 problem with the correlation id and an access line", async () => {
    const res = await t.request("/health", {
      headers: { "if-none-match": 'W/"unterminated', "x-correlation-id": "pipe-400" },
    });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(res.headers.get("x-correlation-id")).toBe("pipe-400");
    expect(await res.json()).toMatchObject({ code: "BAD_REQUEST", correlationId: "pipe-400" });
    expect(accessLine("pipe-400")).toMatchObject({ status: 400, path: "/health" });
  });

  it("a GET gets its ETag, Content-Length, Server-Timing and correlation id, and a matching If-None-Match a 304", async () => {
    const first = await t.request("/health", { headers: { "x-correlation-id": "pipe-200" } });
    expect(first.status).toBe(200);
    const text = await first.text();
    const tag = first.headers.get("etag");
    expect(tag).toMatch(/^"[\w-]{22}"$/);
    expect(first.headers.get("content-length")).toBe(String(Buffer.byteLength(text)));
    expect(first.headers.get("server-timing")).toMatch(/^db;dur=/);
    expect(first.headers.get("x-correlation-id")).toBe("pipe-200");
    expect(accessLine("pipe-200")).toMatchObject({ status: 200, bytes: Buffer.byteLength(text) });
    // uptimeSeconds may tick between the two calls: only an unchanged body matches.
    const again = await t.request("/health", {
      headers: { "if-none-match": tag!, "x-correlation-id": "pipe-304" },
    });
    if (again.status === 304) {
      expect(again.headers.get("x-correlation-id")).toBe("pipe-304");
      expect(accessLine("pipe-304")).toMatchObject({ status: 304 });
    } else expect(again.headers.get("etag")).not.toBe(tag);
  });

  it("signed storage uploads the app serves skip the body limit, ETag and compression", async () => {
    const storage = t.services.storage!;
    expect(storage.serve).toBeDefined();
    const bytes = new Uint8Array(4096).fill(7); // four times BODY_LIMIT_BYTES
    const put = await storage.presignPut({
      key: "quarantine/pipeline-test.bin",
      contentType: "application/octet-stream",
      contentLength: bytes.byteLength,
      expiresInSec: 60,
    });
    const url = new URL(put.url, "http://localhost");
    const res = await t.request(`${url.pathname}${url.search}`, {
      method: "PUT",
      headers: { ...put.headers, "x-correlation-id": "pipe-storage" },
      body: bytes,
    });
    expect(res.status).toBeLessThan(300);
    expect(res.headers.get("x-correlation-id")).toBe("pipe-storage");
    expect(accessLine("pipe-storage")).toMatchObject({ method: "PUT" });
    expect(await storage.get("quarantine/pipeline-test.bin")).toEqual(bytes);
    const get = await storage.presignGet({ key: "quarantine/pipeline-test.bin", expiresInSec: 60 });
    const got = new URL(get.url, "http://localhost");
    const down = await t.request(`${got.pathname}${got.search}`, {
      headers: { "accept-encoding": "gzip, br" },
    });
    expect(down.status).toBe(200);
    expect(down.headers.get("content-encoding")).toBeNull();
    expect(down.headers.get("etag")).not.toMatch(/^"[\w-]{22}"$/);
    expect(new Uint8Array(await down.arrayBuffer())).toEqual(bytes);
    await storage.delete(["quarantine/pipeline-test.bin"]);
  });
});
