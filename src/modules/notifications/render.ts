/**
 * Rendering a notification text: i18next's interpolator fills the template's `{{variable}}`
 * placeholders with opaque tokens, and the values replace the tokens in one pass at the end. So a
 * value is only ever text: `{{x}}`, `$t(key)` or markup inside a maintenance title or a name is
 * never read as a placeholder, a nested translation or an escape (i18next alone would re-scan an
 * inserted value on its second pass and replace a placeholder inside an earlier value). In
 * right-to-left locales each value is wrapped in FSI … PDI (U+2068 … U+2069), so "12B", "₪1,250.00"
 * or a Latin name keep their own direction inside Hebrew text; bidi controls inside a value are
 * dropped, so a value cannot break out of its isolate.
 */
import { catalog, lookup, type MissingKeyLogger } from "../i18n/catalog";
import { DEFAULT_LOCALE, type Locale, RTL_LOCALES } from "../i18n/locales";
import { type Channel, NOTIFICATION_TYPES, type NotificationType } from "./catalogue";
import { templateKey } from "./templates";

export const FSI = "\u2068";
export const PDI = "\u2069";
const TOKEN_OPEN = "\uE000";
const TOKEN_CLOSE = "\uE001";
const TOKEN = /\uE000(\d+)\uE001/g;
/** Embeddings, overrides and isolates (LRE…RLO, LRI…PDI). */
const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069]/g;
/** i18next's placeholder syntax (prefix `{{`, suffix `}}`, `-` for unescaped, `,` for a format). */
const PLACEHOLDER = /\{\{(.+?)\}\}/gs;
const NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

export const MAX_TITLE_CHARS = 500;
export const MAX_BODY_CHARS = 4000;

/** A value as inserted: bidi controls removed, isolated in RTL locales. */
export function insertValue(value: string, locale: Locale): string {
  const clean = value.replace(BIDI_CONTROLS, "");
  return RTL_LOCALES.has(locale) ? `${FSI}${clean}${PDI}` : clean;
}

/** The variable names a template uses (`{{ name }}`, `{{- name}}`), or the placeholder text when malformed. */
export function placeholders(template: string): Array<{ name: string; valid: boolean; raw: string }> {
  const out: Array<{ name: string; valid: boolean; raw: string }> = [];
  for (const m of template.matchAll(PLACEHOLDER)) {
    const name = m[1]!.trim().replace(/^-\s*/, "");
    out.push({ name, valid: NAME.test(name), raw: m[0] });
  }
  return out;
}

/**
 * What is wrong with `template` as a text of `type` (empty when it may be saved): placeholders
 * naming undeclared variables or using formats (`{{x, uppercase}}`), and the private-use
 * characters the renderer uses as tokens.
 */
export function templateProblems(type: NotificationType, template: string): string[] {
  const declared = new Set<string>(NOTIFICATION_TYPES[type].variables);
  const problems: string[] = [];
  for (const p of placeholders(template)) {
    if (!p.valid) problems.push(`${p.raw} is not a placeholder of the form {{variable}}`);
    else if (!declared.has(p.name))
      problems.push(`{{${p.name}}} is not a variable of ${type} (declared: ${[...declared].join(", ")})`);
  }
  if (template.includes(TOKEN_OPEN) || template.includes(TOKEN_CLOSE))
    problems.push("characters U+E000 and U+E001 are reserved");
  return [...new Set(problems)];
}

/** Fills `template` with `values` (text, see the header) for `locale`. */
export function renderTemplate(
  template: string,
  values: Readonly<Record<string, string>>,
  locale: Locale,
): string {
  const names = Object.keys(values);
  const tokens: Record<string, string> = {};
  names.forEach((n, i) => {
    tokens[n] = `${TOKEN_OPEN}${i}${TOKEN_CLOSE}`;
  });
  // The catalogue's interpolation options apply (escapeValue false, skipOnVariables true).
  const withTokens = catalog.services.interpolator.interpolate(template, tokens, locale, {});
  return withTokens.replace(TOKEN, (whole, i: string) => {
    const name = names[Number(i)];
    return name === undefined ? whole : insertValue(values[name]!, locale);
  });
}

/** Administrator overrides: locale → catalogue key → text. */
export type Overrides = Readonly<Record<string, Readonly<Record<string, string>>>>;

/**
 * The template text of (type, channel, part) in `locale`: an override, else the shipped text,
 * else English (override, then shipped) with a missing-key log line (property 44).
 */
export function templateText(
  type: NotificationType,
  channel: Channel,
  part: "title" | "body",
  locale: Locale,
  overrides: Overrides,
  logger?: MissingKeyLogger,
): string {
  const key = templateKey(type, channel, part);
  const own = overrides[locale]?.[key] ?? lookup("notifications", key, locale);
  if (own !== undefined) return own;
  logger?.warn(
    { event: "i18n_missing_key", ns: "notifications", key, locale },
    "translation missing; English used",
  );
  return overrides[DEFAULT_LOCALE]?.[key] ?? lookup("notifications", key, DEFAULT_LOCALE) ?? key;
}

export interface RenderedText {
  title: string;
  body: string;
}

/** Title and body of `type` on `channel` for `locale`. */
export function renderNotification(
  type: NotificationType,
  channel: Channel,
  locale: Locale,
  values: Readonly<Record<string, string>>,
  overrides: Overrides = {},
  logger?: MissingKeyLogger,
): RenderedText {
  return {
    title: renderTemplate(templateText(type, channel, "title", locale, overrides, logger), values, locale),
    body: renderTemplate(templateText(type, channel, "body", locale, overrides, logger), values, locale),
  };
}
