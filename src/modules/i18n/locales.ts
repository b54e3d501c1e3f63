/**
 * The locales Horizon speaks and how a request picks one: RFC 9110 §12.5.4 `Accept-Language`
 * (language ranges with q-values, `he-IL` → `he`), English when nothing matches. A signed-in
 * user's saved locale wins over the header (see ./middleware.ts).
 */
export const LOCALES = ["en", "he"] as const;
export type Locale = (typeof LOCALES)[number];
export const DEFAULT_LOCALE: Locale = "en";

/** Right-to-left locales: their texts wrap every embedded variable in bidi isolates. */
export const RTL_LOCALES: ReadonlySet<Locale> = new Set<Locale>(["he"]);

/** The BCP 47 tag Intl formats with, per locale. */
export const INTL_TAGS: Record<Locale, string> = { en: "en-US", he: "he-IL" };

export const isLocale = (s: unknown): s is Locale =>
  typeof s === "string" && (LOCALES as readonly string[]).includes(s);

/** A stored or requested tag (`he-IL`, `iw`, `EN_us`) as one of ours, or null. */
export function toLocale(tag: string | null | undefined): Locale | null {
  if (!tag) return null;
  const primary = tag.trim().toLowerCase().split(/[-_]/)[0] ?? "";
  if (primary === "iw") return "he"; // the pre-1989 code some Android versions still send
  return isLocale(primary) ? primary : null;
}

/**
 * The best supported locale for an Accept-Language value: ranges by descending q (ties keep their
 * order), each matched by its primary subtag; `*` and q=0 ranges never match. Malformed parts are
 * skipped, so a hostile header degrades to English, never to an error.
 */
export function negotiateLocale(header: string | null | undefined): Locale {
  if (!header) return DEFAULT_LOCALE;
  const ranges: Array<{ tag: string; q: number; i: number }> = [];
  const parts = header.slice(0, 1024).split(",");
  for (let i = 0; i < parts.length && i < 32; i++) {
    const [rawTag, ...params] = parts[i]!.split(";");
    const tag = rawTag?.trim() ?? "";
    if (!/^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$/.test(tag)) continue;
    let q = 1;
    for (const p of params) {
      const m = p.trim().match(/^q=([01](?:\.\d{0,3})?)$/i);
      if (m) q = Number(m[1]);
    }
    if (q > 0 && q <= 1) ranges.push({ tag, q, i });
  }
  ranges.sort((a, b) => b.q - a.q || a.i - b.i);
  for (const r of ranges) {
    const locale = toLocale(r.tag);
    if (locale) return locale;
  }
  return DEFAULT_LOCALE;
}
