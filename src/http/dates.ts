/**
 * Bounded date inputs. Every date a client sends (REST body, query, sync field) goes through one
 * of these schemas: ISO 8601 alone is not enough, because `0000-01-01` parses (JS `Date` knows
 * year 0) while PostgreSQL rejects it ("date/time field value out of range") and the request
 * would end in a 500. The bound is the instant in UTC, so a time zone offset cannot push a value
 * past it. Out-of-range values answer 400 VALIDATION_FAILED with the allowed range in the message.
 */
import { z } from "@hono/zod-openapi";

/** The earliest date accepted (inclusive), as a calendar date. */
export const MIN_DATE = "1900-01-01";
/** The latest date accepted (inclusive), as a calendar date. */
export const MAX_DATE = "9999-12-31";

const MIN_MS = Date.parse(`${MIN_DATE}T00:00:00.000Z`);
const MAX_MS = Date.parse(`${MAX_DATE}T23:59:59.999Z`);

export const DATE_RANGE_MESSAGE = `must be between ${MIN_DATE} and ${MAX_DATE} (UTC)`;

/** True for a Date (or epoch ms) inside [MIN_DATE, MAX_DATE]. */
export function isDateInRange(value: Date | number): boolean {
  const ms = typeof value === "number" ? value : value.getTime();
  return Number.isFinite(ms) && ms >= MIN_MS && ms <= MAX_MS;
}

/** True for an ISO date-time or YYYY-MM-DD string whose instant lies inside the range. */
export function isIsoInRange(value: string): boolean {
  return isDateInRange(Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value));
}

/**
 * An ISO 8601 date-time with an offset (`2026-07-01T09:30:00Z`, `…+03:00`) inside the range; the
 * value stays a string. Chain `.transform((s) => new Date(s))` where a Date is wanted.
 */
export function boundedDateTime(description?: string) {
  return z.iso
    .datetime({ offset: true })
    .refine(isIsoInRange, { message: DATE_RANGE_MESSAGE })
    .openapi({
      format: "date-time",
      example: "2026-07-01T09:30:00Z",
      description: `${description ? `${description}. ` : ""}ISO 8601 with an offset, ${MIN_DATE} to ${MAX_DATE}.`,
    });
}

/** A calendar date (YYYY-MM-DD) inside the range; the value stays a string. */
export function boundedDate(description?: string) {
  return z.iso
    .date()
    .refine(isIsoInRange, { message: DATE_RANGE_MESSAGE })
    .openapi({
      format: "date",
      example: "2026-07-01",
      description: `${description ? `${description}. ` : ""}YYYY-MM-DD, ${MIN_DATE} to ${MAX_DATE}.`,
    });
}
