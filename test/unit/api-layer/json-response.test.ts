/**
 * `c.json` as the app installs it (rememberJsonBodies, src/http/body.ts): the same answers as
 * Hono's own — status from the argument or `c.status()`, headers from the argument and from
 * `c.header()`, one content type — with the text remembered, served over a real socket by
 * @hono/node-server (whose lightweight Response keeps plain header objects).
 */
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rememberJsonBodies, responseBody } from "../../../src/http/body";
import type { AppEnv } from "../../../src/http/env";
import { resHeader } from "../../../src/http/headers";

describe("c.json with remembered bodies", () => {
  let base = "";
  let close: () => void = () => {};
  const seen: Record<string, unknown> = {};
  beforeAll(async () => {
    const app = new Hono<AppEnv>();
    app.use("*", async (c, next) => {
      rememberJsonBodies(c);
      await next();
      // What the middlewares after the handler see: the remembered text and the headers.
      seen[c.req.path] = { body: responseBody(c), cache: resHeader(c.res, "cache-control") };
    });
    app.get("/plain", (c) => c.json({ a: 1 }));
    app.get("/cached", (c) => c.json({ a: 2 }, 200, { "Cache-Control": "no-store" }));
    app.get("/status", (c) => {
      c.status(201);
      return c.json({ a: 3 });
    });
    app.get("/prepared", (c) => {
      c.header("X-Prepared", "yes");
      return c.json({ a: 4 }, 200, { "Cache-Control": "private" });
    });
    app.get("/typed", (c) => c.json({ a: 5 }, 200, { "Content-Type": "application/problem+json" }));
    app.get("/init", (c) => c.json({ a: 6 }, { status: 202, headers: { "X-Init": "1" } }));
    app.get("/array", (c) => c.json({ a: 7 }, 200, { "X-Many": ["a", "b"] }));
    await new Promise<void>((resolve) => {
      const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info: AddressInfo) => {
        base = `http://127.0.0.1:${info.port}`;
        resolve();
      });
      close = () => server.close();
    });
  });
  afterAll(() => close());

  const get = async (path: string) => {
    const res = await fetch(`${base}${path}`);
    return { res, text: await res.text() };
  };

  it("answers as Hono's c.json does, and the middleware sees the text it sent", async () => {
    const plain = await get("/plain");
    expect(plain.res.status).toBe(200);
    expect(plain.res.headers.get("content-type")).toBe("application/json");
    expect(plain.text).toBe('{"a":1}');
    expect(seen["/plain"]).toEqual({ body: '{"a":1}', cache: null });

    const cached = await get("/cached");
    expect(cached.res.headers.get("cache-control")).toBe("no-store");
    expect(cached.res.headers.get("content-type")).toBe("application/json");
    expect(seen["/cached"]).toEqual({ body: '{"a":2}', cache: "no-store" });
  });

  it("keeps c.status(), c.header() and a ResponseInit", async () => {
    expect((await get("/status")).res.status).toBe(201);
    const prepared = await get("/prepared");
    expect(prepared.res.headers.get("x-prepared")).toBe("yes");
    expect(prepared.res.headers.get("cache-control")).toBe("private");
    expect(prepared.text).toBe('{"a":4}');
    const init = await get("/init");
    expect(init.res.status).toBe(202);
    expect(init.res.headers.get("x-init")).toBe("1");
    expect(init.text).toBe('{"a":6}');
  });

  it("sends one content type, the caller's when it names one, and multi-valued headers whole", async () => {
    const typed = await get("/typed");
    expect(typed.res.headers.get("content-type")).toBe("application/problem+json");
    const array = await get("/array");
    expect(array.res.headers.get("x-many")).toBe("a, b");
    expect(array.text).toBe('{"a":7}');
  });
});
