import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { etagOf } from "../../../src/http/etag";
import { createTestApp, type TestApp } from "../../support/app";
import { type ProbeItem, type ProbeState, registerProbes } from "../../unit/api-layer/probe";

const otherTag = fc.stringMatching(/^[A-Za-z0-9_-]{1,30}$/).map((s) => `"${s}"`);

describe("Property 11: ETag generation and validation", () => {
  let t: TestApp;
  const state: ProbeState = { items: [] };
  beforeAll(async () => {
    t = await createTestApp({ env: { RATE_LIMIT_ENABLED: "false" } });
    registerProbes(t, state);
  });
  afterAll(() => t.close());

  it("Property 11: any resource gets a strong ETag; If-None-Match holding it (weak or not, alone or listed) answers 304, otherwise 200", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 6 }),
        fc.array(otherTag, { maxLength: 4 }),
        fc.boolean(),
        fc.nat(),
        fc.constantFrom(undefined, "gzip", "br"),
        async (resource, others, weak, position, encoding) => {
          state.items = [resource as unknown as ProbeItem];
          const enc: Record<string, string> = encoding ? { "accept-encoding": encoding } : {};
          const first = await t.request("/api/v1/probe/raw", { headers: enc });
          expect(first.status).toBe(200);
          const tag = first.headers.get("etag")!;
          expect(tag).toMatch(/^"[A-Za-z0-9_-]{22}(\.(br|gz))?"$/);
          expect(tag.replace(/\.(br|gz)"$/, '"')).toBe(etagOf(JSON.parse(JSON.stringify(resource))));
          const list = [...others];
          list.splice(position % (list.length + 1), 0, weak ? `W/${tag}` : tag);
          const hit = await t.request("/api/v1/probe/raw", {
            headers: { ...enc, "if-none-match": list.join(", ") },
          });
          expect(hit.status).toBe(304);
          expect(hit.headers.get("etag")).toBe(tag);
          expect(await hit.text()).toBe("");
          const miss = await t.request("/api/v1/probe/raw", {
            headers: { ...enc, "if-none-match": others.filter((o) => o !== tag).join(", ") || '"zz"' },
          });
          expect(miss.status).toBe(200);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("Property 11: any malformed If-None-Match answers 400, never 500", async () => {
    state.items = [{ id: "a" } as ProbeItem];
    await fc.assert(
      fc.asyncProperty(
        fc
          .string({ minLength: 1, maxLength: 40 })
          .filter(
            (s) =>
              !/^[\s,]*$/.test(s) &&
              s.trim() !== "*" &&
              !/^(\s*(W\/)?"[\x21\x23-\x7e]*"\s*,?)+\s*$/.test(s) &&
              /^[\x20-\x7e]*$/.test(s),
          ),
        async (header) => {
          const res = await t.request("/api/v1/probe/raw", { headers: { "if-none-match": header } });
          expect(res.status).toBe(400);
          expect((await res.json()).code).toBe("BAD_REQUEST");
        },
      ),
      { numRuns: 100 },
    );
  });
});
