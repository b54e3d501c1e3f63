import { index, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { id, timestamps } from "../../db/columns";

export const translations = pgTable(
  "translations",
  {
    id: id(),
    key: text("key").notNull(),
    language: text("language").notNull(),
    value: text("value").notNull(),
    namespace: text("namespace").notNull().default("default"),
    ...timestamps(),
  },
  (t) => [
    uniqueIndex("translations_key_lang_ns_uq").on(t.key, t.language, t.namespace),
    index("translations_lang_ns_idx").on(t.language, t.namespace),
  ],
);
