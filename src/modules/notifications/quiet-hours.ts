/**
 * Quiet hours: a daily window in the user's local time (their IANA zone, luxon) during which
 * non-urgent pushes wait. A push decided inside the window is recorded with `availableAt` = the
 * window's end, so the backbone delivers it then: delayed, never dropped.
 */
import { DateTime } from "luxon";
import { isValidTimeZone } from "../i18n/format";

export interface QuietHours {
  /** Minutes after local midnight, 0–1439. start > end wraps midnight; start = end is no window. */
  startMinute: number;
  endMinute: number;
}

export const MINUTES_PER_DAY = 24 * 60;

/** "22:30" → 1350; null when not HH:MM (00:00–23:59). */
export function parseClock(hhmm: string): number | null {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(hhmm);
  return m ? Number(m[1]) * 60 + Number(m[2]) : null;
}

export const formatClock = (minute: number): string =>
  `${String(Math.floor(minute / 60)).padStart(2, "0")}:${String(minute % 60).padStart(2, "0")}`;

/**
 * When the quiet window around `now` ends, or null when `now` is outside it. Local wall-clock
 * times are resolved in `zone` (an unknown zone counts as UTC); an end that falls in a DST gap
 * moves forward with the clocks, as luxon resolves it.
 */
export function quietUntil(now: Date, hours: QuietHours | null, zone: string): Date | null {
  if (!hours || hours.startMinute === hours.endMinute) return null;
  const local = DateTime.fromJSDate(now).setZone(isValidTimeZone(zone) ? zone : "UTC");
  const minute = local.hour * 60 + local.minute;
  const { startMinute: start, endMinute: end } = hours;
  const wraps = start > end;
  const inside = wraps ? minute >= start || minute < end : minute >= start && minute < end;
  if (!inside) return null;
  // The end is today unless the window wraps and we are in its evening part.
  const endDay = wraps && minute >= start ? local.plus({ days: 1 }) : local;
  const endAt = endDay.set({ hour: Math.floor(end / 60), minute: end % 60, second: 0, millisecond: 0 });
  return endAt.toJSDate();
}
