/**
 * Every template and every error title, in every locale, with no missing key and no placeholder
 * left unfilled; the shipped templates use only declared variables; and Accept-Language
 * negotiation (he-IL → he → en).
 */
import { describe, expect, it } from "vitest";
import { ERROR_CODES, type ErrorCode, STATUS_TITLES } from "../../../src/errors";
import { lookup, resetMissingKeyLog } from "../../../src/modules/i18n/catalog";
import { LOCALES, negotiateLocale } from "../../../src/modules/i18n/locales";
import { problemTitle } from "../../../src/modules/i18n/problem-title";
import { REQUEST_STATUSES } from "../../../src/modules/maintenance/schema";
import {
  CHANNELS,
  NOTIFICATION_TYPE_NAMES,
  NOTIFICATION_TYPES,
} from "../../../src/modules/notifications/catalogue";
import { renderNotification, templateProblems } from "../../../src/modules/notifications/render";
import { SHIPPED_TEMPLATES } from "../../../src/modules/notifications/templates";

const sink = () => {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, warn: (f: Record<string, unknown>) => lines.push(f) };
};

describe("the message catalogue is complete", () => {
  it("renders every template of every type, channel and locale with no missing key", () => {
    resetMissingKeyLog();
    const log = sink();
    for (const locale of LOCALES)
      for (const type of NOTIFICATION_TYPE_NAMES)
        for (const channel of CHANNELS) {
          const values = Object.fromEntries(NOTIFICATION_TYPES[type].variables.map((v) => [v, `<${v}>`]));
          const r = renderNotification(type, channel, locale, values, {}, log);
          for (const text of [r.title, r.body]) {
            expect(text.length).toBeGreaterThan(0);
            expect(text).not.toMatch(/\{\{|\}\}/);
          }
          const shipped = SHIPPED_TEMPLATES[locale][type][channel];
          expect(templateProblems(type, shipped.title)).toEqual([]);
          expect(templateProblems(type, shipped.body)).toEqual([]);
          // Every declared variable appears in the type's texts (title or body) of every locale.
          for (const v of NOTIFICATION_TYPES[type].variables)
            expect(`${r.title} ${r.body}`).toContain(`<${v}>`);
        }
    expect(log.lines).toEqual([]);
  });

  it("has a title for every error code in every locale; English keeps the status phrase", () => {
    resetMissingKeyLog();
    const log = sink();
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      for (const locale of LOCALES) {
        expect(lookup("errors", code, locale), `${code} in ${locale}`).toBeTruthy();
        expect(problemTitle(code, locale, log)).toBeTruthy();
      }
      expect(problemTitle(code, "en")).toBe(STATUS_TITLES[ERROR_CODES[code]]);
      expect(problemTitle(code, "he")).not.toBe(problemTitle(code, "en"));
    }
    expect(log.lines).toEqual([]);
  });

  it("has every label a notification inserts (request statuses, roles) in every locale", () => {
    for (const locale of LOCALES) {
      for (const s of REQUEST_STATUSES) expect(lookup("common", `status.${s}`, locale)).toBeTruthy();
      for (const r of ["manager", "resident"]) expect(lookup("common", `role.${r}`, locale)).toBeTruthy();
      expect(lookup("common", "empty", locale)).toBeTruthy();
    }
  });
});

describe("Accept-Language negotiation", () => {
  it.each([
    ["he-IL", "he"],
    ["he-IL,he;q=0.9,en;q=0.8", "he"],
    ["en;q=0.5, he;q=0.8", "he"],
    ["fr-FR, de;q=0.9", "en"],
    ["fr, he;q=0.1", "he"],
    ["he;q=0, en", "en"],
    ["iw", "he"],
    ["*", "en"],
    ["", "en"],
    [";;;,,,q=", "en"],
    ["EN-us", "en"],
    [`${"x-".repeat(2000)}he`, "en"],
  ])("%s → %s", (header, locale) => {
    expect(negotiateLocale(header)).toBe(locale);
  });
});
