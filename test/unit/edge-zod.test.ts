/**
 * workers/edge-zod (the Worker's "zod", wrangler.toml [alias]) mirrors zod's entry minus the message
 * locales: the same export names as the installed zod at each level (`z`, `z.core`), the same
 * classes (one zod, not two), English messages. A zod upgrade that adds or renames an export fails
 * here until the mirror follows it.
 */

import { describe, expect, it } from "vitest";
import * as zod from "zod";
import * as edge from "../../workers/edge-zod/index";

const namesOf = (ns: object) => Object.keys(ns).sort();
const withoutLocales = (ns: object) => namesOf(ns).filter((k) => k !== "locales");

describe("the Worker's zod", () => {
  it("exports what zod exports, locales aside, at the top, in z and in z.core", () => {
    expect(namesOf(edge)).toEqual(withoutLocales(zod));
    expect(namesOf(edge.z)).toEqual(withoutLocales(zod.z));
    expect(namesOf(edge.z.core)).toEqual(withoutLocales(zod.z.core));
    expect(namesOf(edge.z)).not.toContain("locales");
    expect(namesOf(edge.z.core)).not.toContain("locales");
  });

  it("is the same zod: its schemas are zod's classes, and they parse with English messages", () => {
    expect(edge.z.ZodType).toBe(zod.z.ZodType);
    expect(edge.z.core.$ZodType).toBe(zod.z.core.$ZodType);
    expect(edge.default).toBe(edge.z);
    const schema = edge.z.object({ name: edge.z.string().min(2) });
    expect(schema).toBeInstanceOf(zod.z.ZodObject);
    const result = schema.safeParse({ name: 1 });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe("Invalid input: expected string, received number");
  });
});
