import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../../support/app";
import { type ProbeState, registerProbes, sampleItem } from "./probe";

describe("sparse fieldsets", () => {
  let t: TestApp;
  const state: ProbeState = { items: [sampleItem(1), sampleItem(2)] };
  beforeAll(async () => {
    t = await createTestApp();
    registerProbes(t, state);
  });
  afterAll(() => t.close());

  it("projects one object with nested paths and always keeps id", async () => {
    const res = await t.request("/api/v1/probe/items/item-1?fields=name,address.city");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      id: "item-1",
      name: state.items[0]!.name,
      address: { city: "City 1" },
    });
  });

  it("projects every item of a list and keeps the pagination", async () => {
    const res = await t.request("/api/v1/probe/items?fields=tags.label&q=x");
    const body = await res.json();
    expect(body.pagination).toEqual({ total: 2 });
    expect(body.data).toEqual([
      { id: "item-1", tags: [{ label: "a" }, { label: "b" }] },
      { id: "item-2", tags: [{ label: "a" }, { label: "b" }] },
    ]);
  });

  it("keeps a member whole when both it and one of its children are asked for", async () => {
    const body = await (await t.request("/api/v1/probe/items/item-1?fields=address.city,address")).json();
    expect(body.address).toEqual(state.items[0]!.address);
  });

  it("refuses unknown fields with 400 UNKNOWN_FIELDS listing the valid ones", async () => {
    const res = await t.request("/api/v1/probe/items?fields=name,password,address.planet");
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.code).toBe("UNKNOWN_FIELDS");
    expect(body.unknownFields).toEqual(["password", "address.planet"]);
    expect(body.validFields).toEqual(expect.arrayContaining(["id", "name", "address.city", "tags.label"]));
  });

  it("refuses a 10,000-name list and oversized names with a clear 400", async () => {
    const many = Array.from({ length: 10_000 }, (_, i) => `f${i}`).join(",");
    const res = await t.request(`/api/v1/probe/items?fields=${many}`);
    expect(res.status).toBe(400);
    expect((await res.json()).detail).toMatch(/at most 4096|at most 100/);
    const hundredOne = Array.from({ length: 101 }, (_, i) => `f${i}`).join(",");
    expect((await (await t.request(`/api/v1/probe/items?fields=${hundredOne}`)).json()).detail).toContain(
      "at most 100",
    );
    for (const bad of ["", "a..b", "1abc", "name;drop", "a.b.c.d.e.f.g.h"]) {
      const r = await t.request(`/api/v1/probe/items?fields=${encodeURIComponent(bad)}`);
      expect(r.status).toBe(400);
      expect((await r.json()).code).toBe("VALIDATION_FAILED");
    }
  });

  it("falls back to the body's own members on routes without a documented schema", async () => {
    const ok = await (await t.request("/api/v1/probe/raw?fields=address.street")).json();
    expect(ok).toEqual({ id: "item-1", address: { street: "1 Main St" } });
    expect((await t.request("/api/v1/probe/raw?fields=nope")).status).toBe(400);
  });

  it("hashes the projected body for the ETag", async () => {
    const full = await t.request("/api/v1/probe/items/item-1");
    const part = await t.request("/api/v1/probe/items/item-1?fields=name");
    expect(part.headers.get("etag")).not.toBe(full.headers.get("etag"));
    const again = await t.request("/api/v1/probe/items/item-1?fields=name", {
      headers: { "if-none-match": part.headers.get("etag")! },
    });
    expect(again.status).toBe(304);
  });
});
