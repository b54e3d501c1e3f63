/** The problem+json `title` of an error code in a locale (English: the status phrase). */
import { ERROR_CODES, type ErrorCode, STATUS_TITLES } from "../../errors";
import { lookup, type MissingKeyLogger, translate } from "./catalog";
import { DEFAULT_LOCALE, type Locale } from "./locales";

export function problemTitle(
  code: ErrorCode,
  locale: Locale = DEFAULT_LOCALE,
  logger?: MissingKeyLogger,
): string {
  if (locale === DEFAULT_LOCALE)
    return lookup("errors", code, locale) ?? STATUS_TITLES[ERROR_CODES[code]] ?? "Error";
  return translate("errors", code, locale, logger);
}
