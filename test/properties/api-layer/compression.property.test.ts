import { brotliDecompressSync, gunzipSync } from "node:zlib";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { negotiateEncoding } from "../../../src/http/compression";
import { createTestApp, type TestApp } from "../../support/app";
import type { ProbeState } from "../../unit/api-layer/probe";
import { registerProbes } from "../../unit/api-layer/probe";

const coding = fc.constantFrom("gzip", "br", "identity", "*", "deflate", "x-gzip");
const q = fc.option(
  fc.integer({ min: 0, max: 1000 }).map((n) => n / 1000),
  { nil: undefined },
);
const entries = fc.uniqueArray(fc.tuple(coding, q), {
  selector: ([c]) => (c === "x-gzip" ? "gzip" : c),
  maxLength: 5,
});

/** The model: RFC 9110 §12.5.3 with br preferred on ties and identity winning only when named higher. */
function expected(list: Array<[string, number | undefined]>): "br" | "gzip" | "identity" {
  const w = new Map(list.map(([c, v]) => [c === "x-gzip" ? "gzip" : c, v ?? 1]));
  const star = w.get("*");
  const br = w.get("br") ?? star ?? 0;
  const gz = w.get("gzip") ?? star ?? 0;
  const id = w.get("identity") ?? star ?? 0;
  const best = Math.max(br, gz);
  if (best <= 0 || id > best) return "identity";
  return br >= gz ? "br" : "gzip";
}

describe("Property 10: Response compression", () => {
  let t: TestApp;
  const state: ProbeState = { items: [] };
  beforeAll(async () => {
    t = await createTestApp({ env: { RATE_LIMIT_ENABLED: "false" } });
    registerProbes(t, state);
  });
  afterAll(() => t.close());

  it("Property 10: the coding follows Accept-Encoding q-values (brotli on ties, q=0 refuses)", () => {
    fc.assert(
      fc.property(entries, (list) => {
        const gz = list.find(([c]) => c === "gzip");
        const header = list.map(([c, v]) => (v === undefined ? c : `${c};q=${v}`)).join(", ");
        const got = negotiateEncoding(header);
        expect(got).toBe(expected(list));
        if (gz && (gz[1] ?? 1) > 0 && list.length === 1) expect(got).toBe("gzip");
      }),
      { numRuns: 300 },
    );
  });

  it("Property 10: any JSON body over 1 KB is sent compressed as negotiated and decodes to the original", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 0, maxLength: 4000 }),
        fc.constantFrom("gzip", "br", "gzip, br", "br;q=0.5, gzip", "identity", "gzip;q=0"),
        async (text, accept) => {
          const json = JSON.stringify({ text });
          state.body = { contentType: "application/json", text: json };
          const res = await t.request("/api/v1/probe/raw", { headers: { "accept-encoding": accept } });
          const bytes = Buffer.from(await res.arrayBuffer());
          const want = Buffer.byteLength(json) >= 1024 ? negotiateEncoding(accept) : "identity";
          expect(res.headers.get("vary")).toBe("Accept-Encoding");
          expect(res.headers.get("content-encoding") ?? "identity").toBe(want);
          expect(Number(res.headers.get("content-length"))).toBe(bytes.byteLength);
          const decoded =
            want === "gzip" ? gunzipSync(bytes) : want === "br" ? brotliDecompressSync(bytes) : bytes;
          expect(decoded.toString()).toBe(json);
        },
      ),
      { numRuns: 100 },
    );
  });
});
