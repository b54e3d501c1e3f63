/**
 * src/http/headers.ts on @hono/node-server's lightweight responses, over a real socket: headers
 * read and set in the plain object reach the wire once each whatever their case, responses that
 * were materialized (or built from Headers) keep working, and a response with no header object
 * keeps node-server's default content type.
 */
import { request as httpRequest } from "node:http";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasResHeader, plainJson, resHeader, setResHeader } from "../../../src/http/headers";

const app = new Hono();
app.use("*", async (c, next) => {
  await next();
  // What correlation / request log / ETag do after the handler.
  if (resHeader(c.res, "content-type")?.startsWith("application/json")) setResHeader(c.res, "x-json", "yes");
  setResHeader(c.res, "x-correlation-id", "corr-1");
  setResHeader(c.res, "content-type", resHeader(c.res, "content-type") ?? "none");
  if (hasResHeader(c.res, "cache-control")) setResHeader(c.res, "x-had-cache-control", "1");
});
app.get("/json", (c) => c.json({ ok: true }));
app.get("/mixed-case", () =>
  plainJson('{"a":1}', 200, { "Cache-Control": "no-store", "X-Correlation-Id": "old" }),
);
app.get("/materialized", (c) => {
  const res = c.json({ ok: true });
  res.headers.set("x-before", "1"); // someone read .headers first: the general path
  return res;
});
app.get("/text", () => new Response("plain"));

let port: number;
let server: ReturnType<typeof serve>;
beforeAll(async () => {
  await new Promise<void>((resolve) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info) => {
      port = info.port;
      resolve();
    });
  });
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Raw header lines as sent (name, value pairs), to see duplicates a Headers object would merge. */
function raw(path: string): Promise<{ status: number; lines: Array<[string, string]>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path }, (res) => {
      let body = "";
      res.on("data", (d) => {
        body += d;
      });
      res.on("end", () => {
        const lines: Array<[string, string]> = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2)
          lines.push([res.rawHeaders[i]!.toLowerCase(), res.rawHeaders[i + 1]!]);
        resolve({ status: res.statusCode!, lines, body });
      });
    });
    req.on("error", reject);
    req.end();
  });
}

const count = (lines: Array<[string, string]>, name: string) => lines.filter(([k]) => k === name).length;
const value = (lines: Array<[string, string]>, name: string) => lines.find(([k]) => k === name)?.[1];

describe("response headers without materializing them", () => {
  it("adds headers to a handler's c.json response", async () => {
    const r = await raw("/json");
    expect(r.status).toBe(200);
    expect(value(r.lines, "x-json")).toBe("yes");
    expect(value(r.lines, "x-correlation-id")).toBe("corr-1");
    expect(value(r.lines, "content-type")).toMatch(/^application\/json/);
    expect(JSON.parse(r.body)).toEqual({ ok: true });
  });

  it("replaces a header set in another case, so it goes out once", async () => {
    const r = await raw("/mixed-case");
    expect(count(r.lines, "x-correlation-id")).toBe(1);
    expect(value(r.lines, "x-correlation-id")).toBe("corr-1");
    expect(count(r.lines, "content-type")).toBe(1);
    expect(value(r.lines, "x-had-cache-control")).toBe("1");
    expect(value(r.lines, "cache-control")).toBe("no-store");
  });

  it("works on a response whose headers were already materialized", async () => {
    const r = await raw("/materialized");
    expect(value(r.lines, "x-before")).toBe("1");
    expect(value(r.lines, "x-correlation-id")).toBe("corr-1");
    expect(value(r.lines, "x-json")).toBe("yes");
  });

  it("keeps the default content type of a response built without headers", async () => {
    const r = await raw("/text");
    expect(r.body).toBe("plain");
    expect(value(r.lines, "content-type")).toMatch(/^text\/plain/);
    expect(value(r.lines, "x-correlation-id")).toBe("corr-1");
  });
});
