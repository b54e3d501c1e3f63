/**
 * Administrator overrides of notification texts, stored in `translations` (namespace
 * `notifications`, key `<type>.<channel>.title|body`, language = locale) and read through the
 * cache: one entry holding every override, dropped (tag) whenever one changes.
 */
import { and, eq } from "drizzle-orm";
import type { DbOrTx } from "../../platform/db";
import type { Services } from "../../services";
import { translations } from "../i18n/schema";
import type { Overrides } from "./render";

export const OVERRIDES_NAMESPACE = "notifications";
const CACHE_KEY = "i18n:overrides:notifications";
export const OVERRIDES_TAG = "i18n:notifications";
const TTL_MS = 5 * 60_000;

export async function loadOverrides(db: DbOrTx): Promise<Overrides> {
  const rows = await db
    .select({ key: translations.key, language: translations.language, value: translations.value })
    .from(translations)
    .where(eq(translations.namespace, OVERRIDES_NAMESPACE));
  const out: Record<string, Record<string, string>> = {};
  for (const r of rows) {
    const forLocale = out[r.language] ?? {};
    forLocale[r.key] = r.value;
    out[r.language] = forLocale;
  }
  return out;
}

/** Every override, cached; a cache failure reads the table. */
export function cachedOverrides(services: Services): Promise<Overrides> {
  return services.cache
    .remember(CACHE_KEY, TTL_MS, () => loadOverrides(services.database.db), { tags: [OVERRIDES_TAG] })
    .catch(() => loadOverrides(services.database.db));
}

export async function saveOverride(
  db: DbOrTx,
  entry: { key: string; language: string; value: string },
): Promise<void> {
  await db
    .insert(translations)
    .values({ ...entry, namespace: OVERRIDES_NAMESPACE })
    .onConflictDoUpdate({
      target: [translations.key, translations.language, translations.namespace],
      set: { value: entry.value, updatedAt: new Date() },
    });
}

export async function deleteOverride(db: DbOrTx, entry: { key: string; language: string }): Promise<number> {
  const rows = await db
    .delete(translations)
    .where(
      and(
        eq(translations.namespace, OVERRIDES_NAMESPACE),
        eq(translations.key, entry.key),
        eq(translations.language, entry.language),
      ),
    )
    .returning({ id: translations.id });
  return rows.length;
}

export async function invalidateOverrides(services: Services): Promise<void> {
  await services.cache
    .invalidateTag(OVERRIDES_TAG)
    .catch((err) =>
      services.logger.warn(
        { event: "i18n_overrides_invalidate_failed", err: String(err) },
        "override cache not dropped",
      ),
    );
}
