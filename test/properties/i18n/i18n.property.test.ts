/**
 * Properties 41–44: currency per locale (Intl.NumberFormat), dates and times per locale and time
 * zone (luxon, checked against Intl as an independent oracle), and the English fallback with a
 * missing-key log line.
 */
import fc from "fast-check";
import { beforeEach, describe, expect, it } from "vitest";
import { addCatalogResources, resetMissingKeyLog, translate } from "../../../src/modules/i18n/catalog";
import {
  CURRENCIES,
  formatCurrency,
  formatDate,
  formatDateTime,
  formatTime,
  inZone,
} from "../../../src/modules/i18n/format";
import { INTL_TAGS, LOCALES, type Locale } from "../../../src/modules/i18n/locales";
import { quietUntil } from "../../../src/modules/notifications/quiet-hours";

const SYMBOLS: Record<string, string> = { ILS: "₪", USD: "$", EUR: "€" };
const ZONES = [
  "UTC",
  "Asia/Jerusalem",
  "America/New_York",
  "America/Sao_Paulo",
  "Europe/London",
  "Asia/Kolkata",
  "Asia/Kathmandu",
  "Australia/Lord_Howe",
  "Pacific/Chatham",
  "Pacific/Kiritimati",
  "America/St_Johns",
];
const localeArb = fc.constantFrom<Locale>(...LOCALES);
/** 1970 … 2100, whole milliseconds. */
const instant = fc.integer({ min: 0, max: 4_102_444_800_000 }).map((ms) => new Date(ms));

describe("Property 41: Currency formatting", () => {
  it("Property 41: the symbol, two decimals after '.', ',' grouping and the exact amount, in every locale", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -99_999_999_999, max: 99_999_999_999 }),
        fc.constantFrom(...CURRENCIES),
        localeArb,
        (amountMinor, currency, locale) => {
          const s = formatCurrency(amountMinor, currency, locale);
          expect(s).toContain(SYMBOLS[currency]);
          const number = s.replace(/[^\d.,]/g, "");
          expect(number).toMatch(/^\d{1,3}(,\d{3})*\.\d{2}$/);
          expect(Number(number.replace(/[.,]/g, ""))).toBe(Math.abs(amountMinor));
          expect(/[-\u2212]/.test(s)).toBe(amountMinor < 0);
          // Hebrew puts the symbol after the number, English before it.
          const symbolAt = s.indexOf(SYMBOLS[currency]!);
          const digitAt = s.search(/\d/);
          expect(locale === "he" ? symbolAt > digitAt : symbolAt < digitAt).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("Property 42: Date and time formatting", () => {
  it("Property 42: a date carries its day, its year and the locale's month name; times are 24-hour HH:MM", () => {
    fc.assert(
      fc.property(instant, localeArb, fc.constantFrom(...ZONES), (at, locale, zone) => {
        const isoDate = at.toISOString().slice(0, 10);
        const [y, m, d] = isoDate.split("-").map(Number) as [number, number, number];
        const s = formatDate(isoDate, locale);
        expect(s).toContain(String(y));
        expect(s).toMatch(new RegExp(`(^|\\D)${d}(\\D|$)`));
        const month = new Intl.DateTimeFormat(INTL_TAGS[locale], { month: "short", timeZone: "UTC" }).format(
          new Date(Date.UTC(2001, m - 1, 15)),
        );
        expect(s).toContain(month);
        if (locale === "he") expect(s).toMatch(/[\u0590-\u05FF]/);
        else expect(s).toMatch(/^[A-Z][a-z]{2} /);
        expect(formatTime(at, locale, zone)).toMatch(/^([01]\d|2[0-3]):[0-5]\d$/);
        expect(formatDateTime(at, locale, zone)).toContain(formatTime(at, locale, zone));
      }),
      { numRuns: 300 },
    );
  });
});

describe("Property 43: Timezone conversion", () => {
  const oracle = (at: Date, zone: string) => {
    const parts = new Intl.DateTimeFormat("en-GB", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
    }).formatToParts(at);
    const get = (t: string) => Number(parts.find((p) => p.type === t)!.value);
    return { y: get("year"), mo: get("month"), d: get("day"), h: get("hour"), mi: get("minute") };
  };

  it("Property 43: the displayed wall-clock time is the instant in the user's zone, and it is the same instant", () => {
    fc.assert(
      fc.property(instant, fc.constantFrom(...ZONES), localeArb, (at, zone, locale) => {
        const o = oracle(at, zone);
        const local = inZone(at, zone);
        expect(local.toMillis()).toBe(at.getTime());
        expect([local.year, local.month, local.day, local.hour, local.minute]).toEqual([
          o.y,
          o.mo,
          o.d,
          o.h,
          o.mi,
        ]);
        expect(formatTime(at, locale, zone)).toBe(
          `${String(o.h).padStart(2, "0")}:${String(o.mi).padStart(2, "0")}`,
        );
      }),
      { numRuns: 300 },
    );
  });

  it("Property 43: quiet hours are read in the user's zone: inside the window a push waits until its local end, within a day", () => {
    fc.assert(
      fc.property(
        instant,
        fc.constantFrom(...ZONES),
        fc.integer({ min: 0, max: 1439 }),
        fc.integer({ min: 0, max: 1439 }),
        (now, zone, startMinute, endMinute) => {
          fc.pre(startMinute !== endMinute);
          const until = quietUntil(now, { startMinute, endMinute }, zone);
          const o = oracle(now, zone);
          const minute = o.h * 60 + o.mi;
          const inside =
            startMinute < endMinute
              ? minute >= startMinute && minute < endMinute
              : minute >= startMinute || minute < endMinute;
          expect(until !== null).toBe(inside);
          if (until) {
            expect(until.getTime()).toBeGreaterThan(now.getTime() - 60_000);
            expect(until.getTime() - now.getTime()).toBeLessThanOrEqual(25 * 3600_000);
            const e = oracle(until, zone);
            // The window's end in local time (a DST gap can only push it later, by the gap).
            const endLocal = e.h * 60 + e.mi;
            const shift = (endLocal - endMinute + 1440) % 1440;
            expect(shift === 0 || shift <= 60).toBe(true);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("Property 44: Translation fallback", () => {
  beforeEach(() => resetMissingKeyLog());

  it("Property 44: a key missing in a locale answers the English text and logs the missing key", () => {
    let n = 0;
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 30 }),
        fc.string({ maxLength: 60 }),
        (rawKey, english) => {
          const key = `p44.${n++}.${rawKey}`;
          addCatalogResources("en", "prop44", { [key]: english });
          const lines: Array<Record<string, unknown>> = [];
          const logger = { warn: (fields: Record<string, unknown>) => lines.push(fields) };
          expect(translate("prop44", key, "he", logger)).toBe(english);
          expect(lines).toEqual([{ event: "i18n_missing_key", ns: "prop44", key, locale: "he" }]);
          // Present in English: no log line.
          const none: unknown[] = [];
          expect(translate("prop44", key, "en", { warn: (f) => none.push(f) })).toBe(english);
          expect(none).toEqual([]);
        },
      ),
      { numRuns: 200 },
    );
  });
});
