/**
 * Locale-aware formatting (design §10, properties 41–43): amounts with Intl.NumberFormat (minor
 * units → the currency's own number of fraction digits), dates and times with luxon in the
 * reader's IANA time zone. Formatters are built once per (locale, currency) / (locale, style):
 * an Intl formatter costs tens of microseconds to build, a notification fan-out formats thousands.
 */
import { DateTime, IANAZone } from "luxon";
import { INTL_TAGS, type Locale } from "./locales";

export const CURRENCIES = ["ILS", "USD", "EUR"] as const;

const numberFormats = new Map<string, Intl.NumberFormat>();

function currencyFormat(locale: Locale, currency: string): Intl.NumberFormat {
  const key = `${locale}:${currency}`;
  let f = numberFormats.get(key);
  if (!f) {
    f = new Intl.NumberFormat(INTL_TAGS[locale], { style: "currency", currency, currencyDisplay: "symbol" });
    numberFormats.set(key, f);
  }
  return f;
}

/** The number of minor units per major unit of `currency` (100 for ILS/USD/EUR, 1 for JPY). */
export function minorUnitsOf(currency: string): number {
  return 10 ** (currencyFormat("en", currency).resolvedOptions().maximumFractionDigits ?? 2);
}

/** `amountMinor` (agorot, cents) as the locale writes it: "₪1,250.00" (en), "‏1,250.00 ₪" (he). */
export function formatCurrency(amountMinor: number, currency: string, locale: Locale): string {
  return currencyFormat(locale, currency.toUpperCase()).format(
    amountMinor / minorUnitsOf(currency.toUpperCase()),
  );
}

/** Is `zone` an IANA time zone luxon (and Intl) know? */
export const isValidTimeZone = (zone: string): boolean => zone.length <= 64 && IANAZone.isValidZone(zone);

/** `at` in `zone` (UTC when the zone is unknown, so a bad stored value never breaks a render). */
export function inZone(at: Date | string, zone: string): DateTime {
  const dt = typeof at === "string" ? DateTime.fromISO(at, { setZone: false }) : DateTime.fromJSDate(at);
  return dt.setZone(isValidTimeZone(zone) ? zone : "UTC");
}

/** A calendar date (no time): "Dec 7, 2026" / "7 בדצמ׳ 2026". `date` is YYYY-MM-DD or an instant in `zone`. */
export function formatDate(date: Date | string, locale: Locale, zone = "UTC"): string {
  const dt =
    typeof date === "string" && /^\d{4}-\d{2}-\d{2}$/.test(date)
      ? DateTime.fromISO(date, { zone: "UTC" })
      : inZone(date, zone);
  return dt.setLocale(INTL_TAGS[locale]).toLocaleString(DateTime.DATE_MED);
}

/**
 * 24-hour HH:MM, as both locales write times. Not luxon's TIME_24_SIMPLE: its `hour: "numeric"`
 * writes midnight as "0:00" in en-US.
 */
const TIME_24: Intl.DateTimeFormatOptions = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };

/** A time of day in `zone`, 24-hour in both locales: "21:05", "00:30". */
export function formatTime(at: Date | string, locale: Locale, zone: string): string {
  return inZone(at, zone).setLocale(INTL_TAGS[locale]).toLocaleString(TIME_24);
}

/** Date and time in `zone`: "Dec 7, 2026, 21:05" / "7 בדצמ׳ 2026, 21:05". */
export function formatDateTime(at: Date | string, locale: Locale, zone: string): string {
  return inZone(at, zone)
    .setLocale(INTL_TAGS[locale])
    .toLocaleString({ ...DateTime.DATE_MED, ...TIME_24 });
}
