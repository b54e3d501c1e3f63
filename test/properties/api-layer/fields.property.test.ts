import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shapeFromSchema } from "../../../src/http/fields";
import { createTestApp, type TestApp } from "../../support/app";
import { Item, type ProbeItem, type ProbeState, registerProbes } from "../../unit/api-layer/probe";

const word = fc.string({ minLength: 0, maxLength: 12 });
const item = (id: string) =>
  fc.record({
    id: fc.constant(id),
    name: word,
    note: fc.option(word, { nil: null }),
    address: fc.record({ city: word, street: word }),
    tags: fc.array(fc.record({ label: word, color: word }), { maxLength: 4 }),
  });

function get(value: unknown, path: string[]): unknown {
  if (Array.isArray(value)) return value.map((v) => get(v, path));
  if (!path.length || value === null || typeof value !== "object") return value;
  return get((value as Record<string, unknown>)[path[0]!], path.slice(1));
}

/** Every leaf path of the projection, mapped over arrays. */
function leafPaths(value: unknown, prefix: string[] = []): string[][] {
  if (Array.isArray(value)) return value.flatMap((v) => leafPaths(v, prefix));
  if (value === null || typeof value !== "object" || !Object.keys(value).length) return [prefix];
  return Object.entries(value).flatMap(([k, v]) => leafPaths(v, [...prefix, k]));
}

describe("Property 9: Field filtering", () => {
  let t: TestApp;
  const state: ProbeState = { items: [] };
  const valid = [...shapeFromSchema(Item)!.paths];
  beforeAll(async () => {
    t = await createTestApp({ env: { RATE_LIMIT_ENABLED: "false" } });
    registerProbes(t, state);
  });
  afterAll(() => t.close());

  it("Property 9: a response with ?fields= contains only the requested members (plus id), with the source's values", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(item("x"), { minLength: 1, maxLength: 4 }),
        fc.subarray(valid, { minLength: 1 }),
        fc.boolean(),
        async (items, fields, asList) => {
          state.items = items.map((it, i) => ({ ...it, id: `i${i}` })) as ProbeItem[];
          const url = asList ? "/api/v1/probe/items" : "/api/v1/probe/items/i0";
          const res = await t.request(`${url}?fields=${fields.join(",")}`);
          expect(res.status).toBe(200);
          const body = await res.json();
          const projected: unknown[] = asList ? body.data : [body];
          if (asList) expect(body.pagination).toEqual({ total: items.length });
          const allowed = (p: string[]) =>
            p.join(".") === "id" ||
            fields.some(
              (f) => p.join(".") === f || p.join(".").startsWith(`${f}.`) || f.startsWith(`${p.join(".")}.`),
            );
          projected.forEach((out, i) => {
            expect((out as { id: string }).id).toBe(`i${i}`);
            for (const path of leafPaths(out)) {
              expect(allowed(path)).toBe(true);
              const leaf = get(out, path);
              // `{}` is a container whose selected children are absent (optional members).
              if (!(leaf && typeof leaf === "object" && !Array.isArray(leaf)))
                expect(leaf).toEqual(get(state.items[i], path));
            }
            for (const f of fields) {
              const p = f.split(".");
              const src = get(state.items[i], p);
              if (src !== undefined) expect(get(out, p)).toEqual(src);
            }
          });
        },
      ),
      { numRuns: 100 },
    );
  });

  it("Property 9: any unknown name is refused with 400 UNKNOWN_FIELDS listing the valid ones", async () => {
    state.items = [{ id: "i0", name: "n", note: null, address: { city: "c", street: "s" }, tags: [] }];
    await fc.assert(
      fc.asyncProperty(
        fc.stringMatching(/^[a-z][a-z0-9]{0,8}(\.[a-z][a-z0-9]{0,8})?$/).filter((f) => !valid.includes(f)),
        fc.subarray(valid),
        async (unknown, known) => {
          const res = await t.request(`/api/v1/probe/items/i0?fields=${[...known, unknown].join(",")}`);
          expect(res.status).toBe(400);
          const body = await res.json();
          expect(body.code).toBe("UNKNOWN_FIELDS");
          expect(body.unknownFields).toEqual([unknown]);
          expect(body.validFields).toEqual([...valid].sort());
        },
      ),
      { numRuns: 100 },
    );
  });
});
