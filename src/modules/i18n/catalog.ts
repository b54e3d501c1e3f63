/**
 * The message catalogue: one i18next instance holding every namespace (`errors`: problem titles
 * by code; `common`: labels such as request statuses and roles; `notifications`: the shipped
 * notification templates, added by that module). Lookups go through `translate`, which falls
 * back to English and logs the missing key once per (namespace, key, locale) and process
 * (property 44), instead of i18next's silent fallback.
 */
import i18next, { type i18n } from "i18next";
import { errorTitleResources } from "./error-titles";
import { DEFAULT_LOCALE, LOCALES, type Locale } from "./locales";

export interface MissingKeyLogger {
  warn(fields: Record<string, unknown>, message: string): void;
}

/** Flat keys (`keySeparator: false`): notification keys contain dots of their own (`maintenance.status`). */
const COMMON = {
  en: {
    "status.open": "open",
    "status.in_progress": "in progress",
    "status.resolved": "resolved",
    "status.rejected": "rejected",
    "role.manager": "manager",
    "role.resident": "resident",
    empty: "(empty)",
  },
  he: {
    "status.open": "פתוחה",
    "status.in_progress": "בטיפול",
    "status.resolved": "טופלה",
    "status.rejected": "נדחתה",
    "role.manager": "מנהל/ת",
    "role.resident": "דייר/ת",
    empty: "(ריק)",
  },
};

function build(): i18n {
  const instance = i18next.createInstance();
  const errors = errorTitleResources();
  void instance.init({
    initAsync: false,
    lng: DEFAULT_LOCALE,
    fallbackLng: DEFAULT_LOCALE,
    supportedLngs: [...LOCALES],
    ns: ["errors", "common", "notifications"],
    defaultNS: "common",
    keySeparator: false,
    nsSeparator: false,
    // Plain text everywhere (push payloads, JSON); values are inserted by render.ts, never parsed.
    interpolation: { escapeValue: false, skipOnVariables: true },
    resources: {
      en: { errors: errors.en, common: COMMON.en },
      he: { errors: errors.he, common: COMMON.he },
    },
    showSupportNotice: false,
  } as Parameters<i18n["init"]>[0]);
  return instance;
}

/** The process's catalogue. */
export const catalog: i18n = build();

/** Adds (or replaces) a namespace's shipped texts for one locale. */
export function addCatalogResources(locale: Locale, ns: string, resources: Record<string, unknown>): void {
  catalog.addResourceBundle(locale, ns, resources, true, true);
}

const reported = new Set<string>();

/** The raw text of `key` in `locale`, without fallback (undefined when missing). */
export function lookup(ns: string, key: string, locale: Locale): string | undefined {
  const v = catalog.getResource(locale, ns, key) as unknown;
  return typeof v === "string" ? v : undefined;
}

/**
 * The text of `key` in `locale`; when that locale lacks it, the English text, and a
 * `i18n_missing_key` log line (once per key and locale per process). When English lacks it too,
 * the key itself.
 */
export function translate(ns: string, key: string, locale: Locale, logger?: MissingKeyLogger): string {
  const own = lookup(ns, key, locale);
  if (own !== undefined) return own;
  const tag = `${ns}:${key}:${locale}`;
  if (!reported.has(tag)) {
    if (reported.size < 10_000) reported.add(tag);
    logger?.warn({ event: "i18n_missing_key", ns, key, locale }, "translation missing; English used");
  }
  return lookup(ns, key, DEFAULT_LOCALE) ?? key;
}

/** Forgets which missing keys were logged (tests). */
export function resetMissingKeyLog(): void {
  reported.clear();
}
