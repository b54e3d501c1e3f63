import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { etagOf, parseEtagList, strongMatch, weakMatch } from "../../../src/http/etag";
import { createTestApp, type TestApp } from "../../support/app";
import { type ProbeState, registerProbes, sampleItem } from "./probe";

describe("etag parsing", () => {
  it("parses *, single tags, weak tags and lists with empty elements", () => {
    expect(parseEtagList("*", "If-None-Match")).toBe("*");
    expect(parseEtagList(' W/"a" ,, "b" ', "x")).toEqual([
      { weak: true, opaque: "a" },
      { weak: false, opaque: "b" },
    ]);
    expect(parseEtagList('"a,b"', "x")).toEqual([{ weak: false, opaque: "a,b" }]);
  });
  it.each(["abc", '"unterminated', "W/abc", '"a" "b"', '"a b"', "", '"a";', 'w/"a"'])(
    "refuses malformed %j with 400",
    (raw) => {
      expect(() => parseEtagList(raw, "If-None-Match")).toThrow(expect.objectContaining({ status: 400 }));
    },
  );
  it("compares weakly for If-None-Match and strongly for If-Match", () => {
    expect(weakMatch([{ weak: true, opaque: "x" }], '"x"')).toBe(true);
    expect(strongMatch([{ weak: true, opaque: "x" }], '"x"')).toBe(false);
    expect(strongMatch([{ weak: false, opaque: "x" }], '"x"')).toBe(true);
    expect(strongMatch([{ weak: false, opaque: "x" }], 'W/"x"')).toBe(false);
    expect(weakMatch([{ weak: false, opaque: "x" }], '"x.gz"')).toBe(true);
  });
});

describe("etag middleware and If-Match", () => {
  let t: TestApp;
  const state: ProbeState = { items: [sampleItem(1), sampleItem(2)] };
  beforeAll(async () => {
    t = await createTestApp();
    registerProbes(t, state);
  });
  afterAll(() => t.close());

  it("sends a strong ETag equal to etagOf(the JSON the route returned)", async () => {
    const res = await t.request("/api/v1/probe/items/item-1");
    expect(res.status).toBe(200);
    expect(res.headers.get("etag")).toBe(etagOf(state.items[0]));
    expect(res.headers.get("etag")).toMatch(/^"[A-Za-z0-9_-]{22}"$/);
  });

  it("answers 304 for a matching If-None-Match and keeps the required headers", async () => {
    const first = await t.request("/api/v1/probe/items/item-1");
    const tag = first.headers.get("etag")!;
    for (const header of [tag, `W/${tag}`, `"nope", ${tag}`, "*"]) {
      const res = await t.request("/api/v1/probe/items/item-1", { headers: { "if-none-match": header } });
      expect(res.status).toBe(304);
      expect(await res.text()).toBe("");
      expect(res.headers.get("etag")).toBe(tag);
      expect(res.headers.get("cache-control")).toBe("private, no-cache");
      expect(res.headers.get("vary")).toContain("Accept-Encoding");
      expect(res.headers.get("ratelimit-limit")).not.toBeNull();
      expect(res.headers.get("content-type")).toBeNull();
    }
    const other = await t.request("/api/v1/probe/items/item-1", { headers: { "if-none-match": '"other"' } });
    expect(other.status).toBe(200);
  });

  it("answers 400 problem+json, never 500, for a malformed If-None-Match", async () => {
    const res = await t.request("/api/v1/probe/items/item-1", { headers: { "if-none-match": "not-quoted" } });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(await res.json()).toMatchObject({ code: "BAD_REQUEST" });
  });

  it("gives the brotli/gzip representation its own tag that still revalidates", async () => {
    state.items.push({ ...sampleItem(3, 3000) });
    const br = await t.request("/api/v1/probe/items/item-3", { headers: { "accept-encoding": "br" } });
    const plain = await t.request("/api/v1/probe/items/item-3");
    expect(br.headers.get("content-encoding")).toBe("br");
    expect(br.headers.get("etag")).toBe(`${plain.headers.get("etag")!.slice(0, -1)}.br"`);
    const again = await t.request("/api/v1/probe/items/item-3", {
      headers: { "accept-encoding": "br", "if-none-match": br.headers.get("etag")! },
    });
    expect(again.status).toBe(304);
    expect(again.headers.get("etag")).toBe(br.headers.get("etag"));
  });

  it("lets a write proceed with the current ETag and answers 412 with a stale one", async () => {
    const url = "/api/v1/probe/items/item-2";
    const tag = (await t.request(url)).headers.get("etag")!;
    const put = (ifMatch: string | undefined, name: string) =>
      t.request(url, {
        method: "PUT",
        headers: { "content-type": "application/json", ...(ifMatch ? { "if-match": ifMatch } : {}) },
        body: JSON.stringify({ name }),
      });
    const ok = await put(tag, "renamed");
    expect(ok.status).toBe(200);
    const newTag = ok.headers.get("etag");
    expect(newTag).toBe((await t.request(url)).headers.get("etag"));
    const stale = await put(tag, "again");
    expect(stale.status).toBe(412);
    expect(stale.headers.get("content-type")).toBe("application/problem+json");
    expect(await stale.json()).toMatchObject({ code: "PRECONDITION_FAILED", currentEtag: newTag });
    expect((await put(`W/${newTag}`, "weak")).status).toBe(412);
    expect((await put("garbage", "x")).status).toBe(400);
    expect((await put(undefined, "no precondition")).status).toBe(200);
    const missing = await t.request("/api/v1/probe/items/none", {
      method: "PUT",
      headers: { "content-type": "application/json", "if-match": "*" },
      body: JSON.stringify({ name: "x" }),
    });
    expect(missing.status).toBe(412);
  });
});
