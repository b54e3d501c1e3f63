/**
 * Payload truncation (issue 16, "Payload limits"): for any text and any byte budget, the cut text
 * fits, is a prefix of the original on a grapheme boundary plus an ellipsis, never splits a
 * surrogate pair, keeps bidi isolates (FSI … PDI) balanced by dropping a whole isolate rather than
 * cutting inside it, and keeps as much as fits. And every provider's whole payload (title, body
 * and the data map) fits its limit.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fitNotification, truncateText, utf8Bytes } from "../../../src/platform/push";
import { apnsPayloadText } from "../../../src/platform/push/apns";
import { fcmPayloadText } from "../../../src/platform/push/fcm";
import { cutUnits, ELLIPSIS } from "../../../src/platform/push/truncate";
import { renderWebPush, WEBPUSH_PLAINTEXT_LIMIT } from "../../../src/platform/push/webpush";

const FSI = "\u2068";
const PDI = "\u2069";
const LONE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const atom = fc.oneof(
  fc.constantFrom(
    "a",
    "Z",
    "7",
    " ",
    ",",
    "₪",
    "é",
    "e\u0301",
    "א",
    "ש",
    "ה",
    "🏠",
    "👩‍👩‍👧",
    "🇮🇱",
    "\u05b0",
  ),
  fc.string({ unit: "grapheme", maxLength: 3 }),
);
/** Text with balanced (possibly nested) isolates: how localized Hebrew wraps LTR fragments. */
const { text: balancedText } = fc.letrec((tie) => ({
  text: fc
    .array(fc.oneof({ weight: 4, arbitrary: atom }, { weight: 1, arbitrary: tie("isolate") }), {
      maxLength: 30,
    })
    .map((parts) => parts.join("")),
  isolate: fc
    .tuple(fc.constantFrom(FSI, "\u2066", "\u2067"), tie("text"))
    .map(([open, inner]) => `${open}${inner}${PDI}`),
})) as unknown as { text: fc.Arbitrary<string> };

function depthOk(s: string): boolean {
  let depth = 0;
  for (const ch of s) {
    if (ch === FSI || ch === "\u2066" || ch === "\u2067") depth++;
    else if (ch === PDI && --depth < 0) return false;
  }
  return depth === 0;
}

describe("push payload truncation", () => {
  it("Property: truncation cuts on a character boundary, never inside a surrogate pair or a bidi isolate, and keeps the most that fits", () => {
    fc.assert(
      fc.property(balancedText, fc.integer({ min: 0, max: 400 }), (text, limit) => {
        const fits = (s: string) => utf8Bytes(s) <= limit;
        const out = truncateText(text, fits);
        // Segmenting only what a byte budget can hold gives the same cut.
        expect(truncateText(text, fits, limit)).toBe(out);
        expect(fits(out)).toBe(true);
        expect(LONE.test(out)).toBe(false);
        expect(depthOk(out)).toBe(true);
        if (fits(text)) {
          expect(out).toBe(text);
          return;
        }
        if (out === "") return;
        expect(out.endsWith(ELLIPSIS)).toBe(true);
        const kept = out.slice(0, -ELLIPSIS.length);
        const units = cutUnits(text);
        let k = 0;
        let prefix = "";
        while (prefix.length < kept.length) prefix += units[k++];
        // A whole number of units (graphemes / whole isolates), and the next one would not fit.
        expect(prefix).toBe(kept);
        expect(k).toBeGreaterThan(0);
        expect(k).toBeLessThan(units.length);
        expect(fits(units.slice(0, k + 1).join("") + ELLIPSIS)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it("Property: arbitrary (even unbalanced or broken) text is cut to a prefix without creating a lone surrogate", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(fc.string({ unit: "grapheme", maxLength: 4 }), fc.constantFrom(FSI, PDI, "\u2066")),
          {
            maxLength: 60,
          },
        ),
        fc.integer({ min: 0, max: 200 }),
        (parts, limit) => {
          const text = parts.join("");
          const out = truncateText(text, (s) => utf8Bytes(s) <= limit);
          expect(utf8Bytes(out)).toBeLessThanOrEqual(limit);
          const kept = out.endsWith(ELLIPSIS) && out !== text ? out.slice(0, -1) : out;
          expect(text.startsWith(kept)).toBe(true);
          if (!LONE.test(text)) expect(LONE.test(out)).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("Property: every provider's payload (title, body and data) fits its limit, the body giving way first", () => {
    const data = fc.dictionary(
      fc.string({ maxLength: 12 }).filter((k) => k !== "aps"),
      fc.string({ maxLength: 200 }),
      {
        maxKeys: 6,
      },
    );
    fc.assert(
      fc.property(
        balancedText,
        balancedText,
        data,
        fc.integer({ min: 1, max: 40 }),
        (title, bodyPart, d, times) => {
          const body = bodyPart.repeat(times * 10);
          const message = { title, body, data: d, urgent: false };
          const web = renderWebPush(message);
          expect(utf8Bytes(web)).toBeLessThanOrEqual(WEBPUSH_PLAINTEXT_LIMIT);
          const shown = JSON.parse(web) as { title: string; body: string };
          expect(depthOk(shown.body) && depthOk(shown.title)).toBe(true);
          if (shown.title !== title) expect(shown.body).toBe("");
          for (const render of [fcmPayloadText, apnsPayloadText]) {
            const fit = fitNotification(title, body, (t, b) => utf8Bytes(render(message, t, b)));
            expect(fit).not.toBeNull();
            expect(utf8Bytes(render(message, fit!.title, fit!.body))).toBeLessThanOrEqual(4096);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
