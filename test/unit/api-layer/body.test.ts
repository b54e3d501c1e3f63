import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { byteLength, utf8Concat } from "../../../src/http/body";

describe("utf8Concat", () => {
  it("writes the parts' UTF-8 bytes in order, Hebrew, emoji and lone surrogates included", () => {
    const bytes = utf8Concat(['{"title":', JSON.stringify("הודעה לדיירים — 🚰"), "}"]);
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(new TextDecoder().decode(bytes as Uint8Array)).toBe('{"title":"הודעה לדיירים — 🚰"}');
    fc.assert(
      fc.property(fc.array(fc.string({ unit: "binary" }), { maxLength: 20 }), (parts) => {
        const bytes = utf8Concat(parts) as Uint8Array;
        const joined = parts.join("");
        expect(bytes.byteLength).toBe(byteLength(joined));
        expect([...bytes]).toEqual([...new TextEncoder().encode(joined)]);
      }),
      { numRuns: 200 },
    );
  });

  it("answers an empty body for no parts", () => {
    expect((utf8Concat([]) as Uint8Array).byteLength).toBe(0);
  });
});
