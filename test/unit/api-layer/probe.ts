/** Probe routes for API-layer tests, registered on a real app under /api/v1 and /api/v2. */
import { z } from "@hono/zod-openapi";
import { checkIfMatch, etagOf } from "../../../src/http/etag";
import { defineRoute, jsonContent } from "../../../src/http/openapi";
import type { TestApp } from "../../support/app";

export const Address = z.object({ city: z.string(), street: z.string(), zip: z.string().optional() });
export const Item = z
  .object({
    id: z.string(),
    name: z.string(),
    note: z.string().nullable(),
    address: Address,
    tags: z.array(z.object({ label: z.string(), color: z.string() })),
  })
  .openapi("ProbeItem");
export type ProbeItem = z.infer<typeof Item>;
export const ItemList = z.object({ data: z.array(Item), pagination: z.object({ total: z.number() }) });

export function sampleItem(i: number, size = 1): ProbeItem {
  return {
    id: `item-${i}`,
    name: `Item ${i} ${"x".repeat(size)}`,
    note: i % 2 ? null : `note ${i}`,
    address: { city: `City ${i}`, street: `${i} Main St` },
    tags: [
      { label: "a", color: "red" },
      { label: "b", color: "blue" },
    ],
  };
}

/** Mutable store behind the probe routes, so tests can change a resource between calls. */
export interface ProbeState {
  items: ProbeItem[];
  body?: { contentType: string; text: string; cacheControl?: string };
}

export function registerProbes(t: TestApp, state: ProbeState, version = "v1") {
  const base = `/api/${version}/probe`;
  if (version === "v1") registerProbes(t, state, "v2");
  t.app.openapi(
    defineRoute({
      method: "get",
      path: `${base}/items`,
      request: { query: z.object({ q: z.string().optional() }).strict() },
      responses: { 200: jsonContent(ItemList, "items") },
    }),
    (c) => c.json({ data: state.items, pagination: { total: state.items.length } }, 200),
  );
  t.app.openapi(
    defineRoute({
      method: "get",
      path: `${base}/items/{id}`,
      request: { params: z.object({ id: z.string() }) },
      responses: { 200: jsonContent(Item, "item") },
      errors: [404],
    }),
    (c) => {
      const item = state.items.find((i) => i.id === c.req.valid("param").id);
      if (!item) return c.json({ error: "not found" } as never, 404 as never);
      c.header("Cache-Control", "private, no-cache");
      return c.json(item, 200);
    },
  );
  t.app.openapi(
    defineRoute({
      method: "put",
      path: `${base}/items/{id}`,
      request: {
        params: z.object({ id: z.string() }),
        body: { content: { "application/json": { schema: z.object({ name: z.string() }).strict() } } },
      },
      responses: { 200: jsonContent(Item, "updated") },
      errors: [412, 428],
    }),
    (c) => {
      const item = state.items.find((i) => i.id === c.req.valid("param").id);
      checkIfMatch(c, item ? etagOf(item) : null);
      item!.name = c.req.valid("json").name;
      c.header("ETag", etagOf(item));
      return c.json(item!, 200);
    },
  );
  // Untyped route: fields validation falls back to the actual body.
  t.app.get(`${base}/raw`, (c) => {
    const b = state.body;
    if (!b) return c.json(state.items[0] ?? {});
    return c.body(b.text, 200, {
      "content-type": b.contentType,
      ...(b.cacheControl ? { "cache-control": b.cacheControl } : {}),
    });
  });
  t.app.post(`${base}/auth/login`, (c) => c.json({ ok: true }));
  t.app.post(`${base}/write`, (c) => c.json({ ok: true }));
}
