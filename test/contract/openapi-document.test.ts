/**
 * The OpenAPI document is what mobile teams generate clients from (issue 14, "The API contract").
 * These checks walk the whole document the app serves, so a new route cannot break a rule the
 * others keep: every pattern compiles as ECMA-262 and accepts its own examples.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../support/app";

type Json = Record<string, any>;

/** Every object in `node` that has `key`, with its JSON pointer. */
function collect(node: unknown, key: string, path = "#"): Array<{ at: string; owner: Json }> {
  const out: Array<{ at: string; owner: Json }> = [];
  if (Array.isArray(node)) node.forEach((v, i) => out.push(...collect(v, key, `${path}/${i}`)));
  else if (node && typeof node === "object") {
    if (key in node) out.push({ at: path, owner: node as Json });
    for (const [k, v] of Object.entries(node)) out.push(...collect(v, key, `${path}/${k}`));
  }
  return out;
}

describe("the OpenAPI document", () => {
  let t: TestApp;
  let doc: Json;
  beforeAll(async () => {
    t = await createTestApp();
    doc = await (await t.request("/openapi.json")).json();
  });
  afterAll(() => t.close());

  it("every pattern is a valid ECMA-262 (unicode) expression that accepts its own examples", () => {
    const patterns = collect(doc, "pattern").filter(({ owner }) => typeof owner.pattern === "string");
    expect(patterns.length).toBeGreaterThan(5);
    for (const { at, owner } of patterns) {
      let re: RegExp;
      expect(() => {
        re = new RegExp(owner.pattern, "u");
      }, `${at}: ${owner.pattern}`).not.toThrow();
      const examples = [
        ...(owner.example !== undefined ? [owner.example] : []),
        ...(Array.isArray(owner.examples) ? owner.examples : []),
      ].filter((e) => typeof e === "string");
      for (const example of examples)
        expect(re!.test(example), `${at}: ${owner.pattern} vs ${example}`).toBe(true);
    }
    // Parameters carry their example beside the schema.
    for (const { at, owner } of collect(doc, "schema")) {
      const pattern = owner.schema?.pattern;
      if (typeof pattern !== "string" || typeof owner.example !== "string") continue;
      expect(new RegExp(pattern, "u").test(owner.example), `${at}: ${pattern} vs ${owner.example}`).toBe(
        true,
      );
    }
  });

  it("the name pattern of RegisterRequest and UpdateProfileRequest accepts names and refuses control characters", () => {
    for (const schema of ["RegisterRequest", "UpdateProfileRequest"]) {
      const name = doc.components.schemas[schema].properties.name;
      const re = new RegExp(name.pattern, "u");
      for (const ok of ["Dana Levi", "דנה לוי", "José Ñúñez", "李小龍 🏠"])
        expect(re.test(ok), `${schema} ${ok}`).toBe(true);
      for (const bad of ["a\u0000b", "tab\there", "x\ud800"])
        expect(re.test(bad), `${schema} ${JSON.stringify(bad)}`).toBe(false);
    }
  });
});
