import { z } from "@hono/zod-openapi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineRoute, jsonContent } from "../../src/http/openapi";
import { createTestApp, type TestApp } from "../support/app";
import { DB_KINDS } from "../support/db";

describe.each(DB_KINDS)("platform on %s", (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ db: kind, env: { BODY_LIMIT_BYTES: "1024" } });
    // A probe route with a JSON body, to exercise validation, malformed JSON and the body limit.
    const echo = defineRoute({
      method: "post",
      path: "/echo",
      request: {
        body: {
          content: { "application/json": { schema: z.object({ name: z.string().max(20) }).strict() } },
        },
      },
      responses: { 200: jsonContent(z.object({ name: z.string() }), "echo") },
    });
    t.app.openapi(echo, (c) => c.json({ name: c.req.valid("json").name }, 200));
    t.app.get("/boom", () => {
      throw new Error("secret internal detail: password=hunter2");
    });
  });
  afterAll(() => t.close());

  it("answers liveness and readiness", async () => {
    const live = await t.request("/health");
    expect(live.status).toBe(200);
    expect(await live.json()).toMatchObject({ status: "ok", version: expect.any(String) });
    const ready = await t.request("/health/ready");
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      checks: { database: { status: "ok" }, kv: { status: "ok" } },
    });
  });

  it("names the failing readiness check with 503 problem+json", async () => {
    t.services.readiness.push({
      name: "storage",
      check: () => Promise.reject(new Error("bucket unreachable")),
    });
    try {
      const res = await t.request("/health/ready");
      expect(res.status).toBe(503);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      const body = await res.json();
      expect(body).toMatchObject({ code: "NOT_READY", failing: ["storage"] });
      expect(body.detail).toContain("storage");
      expect(JSON.stringify(body)).not.toContain("bucket unreachable");
    } finally {
      t.services.readiness.pop();
    }
  });

  it("answers unknown routes with 404 problem+json and the correlation id", async () => {
    const res = await t.request("/api/v1/nothing-here", { headers: { "x-correlation-id": "abc.DEF-123_x" } });
    expect(res.status).toBe(404);
    expect(res.headers.get("x-correlation-id")).toBe("abc.DEF-123_x");
    expect(await res.json()).toMatchObject({
      code: "ROUTE_NOT_FOUND",
      status: 404,
      correlationId: "abc.DEF-123_x",
    });
  });

  it("replaces an unsafe incoming correlation id", async () => {
    for (const bad of ["has space", "x".repeat(129), "semi;colon", "<script>"]) {
      const res = await t.request("/health", { headers: { "x-correlation-id": bad } });
      const id = res.headers.get("x-correlation-id")!;
      expect(id).not.toBe(bad);
      expect(id).toMatch(/^[A-Za-z0-9._-]{1,128}$/);
    }
  });

  it("answers malformed JSON with 400 MALFORMED_JSON", async () => {
    const res = await t.request("/echo", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{nope",
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: "MALFORMED_JSON" });
  });

  it("lists per-field errors and refuses unknown fields", async () => {
    const res = await t.request("/echo", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: 12, extra: true }),
    });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.code).toBe("VALIDATION_FAILED");
    expect(body.errors.map((e: { path: string }) => e.path)).toEqual(expect.arrayContaining(["json.name"]));
  });

  it("answers a body over the limit with 413", async () => {
    const res = await t.request("/echo", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "x".repeat(5000) }),
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ code: "PAYLOAD_TOO_LARGE", maxBytes: 1024 });
  });

  it("checks a declared Content-Length before reading the body, and counts one sent without", async () => {
    const body = JSON.stringify({ name: "x".repeat(5000) });
    const declared = await t.request("/echo", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "content-length": String(body.length),
        "x-correlation-id": "big-1",
      },
      body,
    });
    expect(declared.status).toBe(413);
    expect(await declared.json()).toMatchObject({
      code: "PAYLOAD_TOO_LARGE",
      maxBytes: 1024,
      correlationId: "big-1",
    });
    const small = JSON.stringify({ name: "ok" });
    const fits = await t.request("/echo", {
      method: "POST",
      headers: { "content-type": "application/json", "content-length": String(small.length) },
      body: small,
    });
    expect(fits.status).toBe(200);
    expect(await fits.json()).toEqual({ name: "ok" });
    // Chunked (no length): counted as it streams.
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 5; i++) controller.enqueue(new TextEncoder().encode("x".repeat(400)));
        controller.close();
      },
    });
    const streamed = await t.request("/echo", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: chunks,
      duplex: "half",
    } as RequestInit);
    expect(streamed.status).toBe(413);
  });

  it("hides internal messages of 5xx and logs them with the stack", async () => {
    const res = await t.request("/boom", { headers: { "x-correlation-id": "boom-1" } });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toContain("hunter2");
    expect(JSON.parse(text)).toMatchObject({ code: "INTERNAL", correlationId: "boom-1" });
    const line = t.logs.find((l) => l.event === "error" && l.correlationId === "boom-1");
    expect(line).toBeDefined();
    expect((line!.err as { stack: string }).stack).toContain("secret internal detail");
  });

  it("sends Server-Timing with db and kv metrics", async () => {
    const res = await t.request("/health/ready");
    expect(res.headers.get("server-timing")).toMatch(/db;dur=[\d.]+;desc="1 queries"/);
  });

  it("serves an OpenAPI 3.1 document and the reference page", async () => {
    const doc = await (await t.request("/openapi.json")).json();
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.paths["/health/ready"].get.responses["503"]).toBeDefined();
    const docs = await t.request("/docs");
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain("/openapi.json");
  });
});
