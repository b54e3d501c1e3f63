/**
 * Properties 14 and 15 on the real renderer (i18next's interpolator plus the token pass): every
 * declared variable is substituted with its value as text, whatever the value holds, and a
 * notification is in the recipient's locale when a translation exists.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LOCALES, type Locale, toLocale } from "../../../src/modules/i18n/locales";
import {
  CHANNELS,
  NOTIFICATION_TYPE_NAMES,
  NOTIFICATION_TYPES,
  type NotificationType,
} from "../../../src/modules/notifications/catalogue";
import {
  FSI,
  insertValue,
  PDI,
  renderNotification,
  renderTemplate,
  templateProblems,
} from "../../../src/modules/notifications/render";
import { SHIPPED_TEMPLATES } from "../../../src/modules/notifications/templates";

/** Values that try to be templates, nested keys, markup, replacement patterns and bidi tricks. */
const hostile = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom(
    "{{title}}",
    "{{- title}}",
    "$t(announcement.push.title)",
    "<b>bold</b>",
    "$&",
    "$1",
    "$$",
    "{{",
    "}}",
    "\u202Eevil",
    "\u2069",
    "\uE0000\uE001",
    "12B",
    "₪1,250.00",
  ),
  fc
    .array(fc.constantFrom("{{", "}}", "title", "$t(", ")", "<", ">", "\u2069", "a", " "), { maxLength: 12 })
    .map((a) => a.join("")),
);

/** Literal template text: anything but placeholder braces and the renderer's reserved characters. */
const literal = fc.string({ maxLength: 20 }).map((s) => s.replace(/[{}\uE000\uE001]/g, ""));

const typeArb = fc.constantFrom(...NOTIFICATION_TYPE_NAMES);
const localeArb = fc.constantFrom(...LOCALES);

function valuesFor(type: NotificationType) {
  const shape: Record<string, fc.Arbitrary<string>> = {};
  for (const v of NOTIFICATION_TYPES[type].variables) shape[v] = hostile;
  return fc.record(shape);
}

describe("Property 14: Template variable substitution", () => {
  it("Property 14: every declared placeholder is replaced by its value, inserted as text (isolated in Hebrew)", () => {
    const scenario = typeArb.chain((type) =>
      fc.record({
        type: fc.constant(type),
        locale: localeArb,
        values: valuesFor(type),
        parts: fc.array(
          fc.record({
            text: literal,
            variable: fc.constantFrom(...NOTIFICATION_TYPES[type].variables),
            spaced: fc.boolean(),
          }),
          { minLength: 1, maxLength: 6 },
        ),
        tail: literal,
      }),
    );
    fc.assert(
      fc.property(scenario, ({ type, locale, values, parts, tail }) => {
        const template =
          parts.map((p) => `${p.text}${p.spaced ? `{{ ${p.variable} }}` : `{{${p.variable}}}`}`).join("") +
          tail;
        expect(templateProblems(type, template)).toEqual([]);
        const expected =
          parts.map((p) => `${p.text}${insertValue(values[p.variable]!, locale as Locale)}`).join("") + tail;
        const rendered = renderTemplate(template, values, locale as Locale);
        expect(rendered).toBe(expected);
        // No placeholder of the template survives; a value's own braces do, verbatim.
        if (locale === "he") {
          const opened = [...rendered].filter((c) => c === FSI).length;
          expect(opened).toBe(parts.length);
          expect([...rendered].filter((c) => c === PDI).length).toBe(parts.length);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("Property 14: a template naming an undeclared variable is refused", () => {
    fc.assert(
      fc.property(typeArb, fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,20}$/), literal, (type, name, text) => {
        fc.pre(!(NOTIFICATION_TYPES[type].variables as readonly string[]).includes(name));
        const problems = templateProblems(type, `${text}{{${name}}}`);
        expect(problems.length).toBe(1);
        expect(problems[0]).toContain(`{{${name}}}`);
      }),
      { numRuns: 200 },
    );
  });
});

describe("Property 15: Multi-language notification support", () => {
  it("Property 15: a notification is rendered from the recipient's locale's template; unknown locales get English", () => {
    const scenario = typeArb.chain((type) =>
      fc.record({
        type: fc.constant(type),
        channel: fc.constantFrom(...CHANNELS),
        stored: fc.oneof(
          fc.constantFrom("en", "he", "he-IL", "iw", "EN-us"),
          fc.constantFrom("fr", "de-DE", "ar", "", "zz"),
        ),
        values: valuesFor(type),
      }),
    );
    fc.assert(
      fc.property(scenario, ({ type, channel, stored, values }) => {
        const locale: Locale = toLocale(stored) ?? "en";
        const rendered = renderNotification(type, channel, locale, values);
        const own = SHIPPED_TEMPLATES[locale][type][channel];
        expect(rendered).toEqual({
          title: renderTemplate(own.title, values, locale),
          body: renderTemplate(own.body, values, locale),
        });
        if (/^(he|iw)/i.test(stored)) {
          expect(locale).toBe("he");
          // Hebrew text outside the isolated values.
          const outside = `${rendered.title} ${rendered.body}`.replace(/\u2068[^\u2069]*\u2069/g, "");
          if (outside.trim()) expect(outside).toMatch(/[\u0590-\u05FF]/);
        } else if (!/^en/i.test(stored)) {
          expect(locale).toBe("en");
        }
      }),
      { numRuns: 200 },
    );
  });
});
