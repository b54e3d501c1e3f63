import { boolean, index, integer, jsonb, pgTable, text, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { id, tstz } from "../../db/columns";

export const files = pgTable(
  "files",
  {
    id: id(),
    buildingId: uuid("building_id"),
    key: text("key").notNull(),
    filename: text("filename").notNull(),
    mimeType: text("mime_type").notNull(),
    size: integer("size").notNull(),
    url: text("url").notNull(),
    thumbnails: jsonb("thumbnails"),
    /** pending (presigned, not yet uploaded) | uploaded | processed | rejected */
    status: text("status").notNull().default("pending"),
    uploadedBy: uuid("uploaded_by").notNull(),
    uploadedAt: tstz("uploaded_at").notNull().defaultNow(),
    scanned: boolean("scanned").notNull().default(false),
    scanResult: text("scan_result"),
  },
  (t) => [
    uniqueIndex("files_key_uq").on(t.key),
    index("files_uploaded_by_idx").on(t.uploadedBy),
    index("files_uploaded_at_idx").on(t.uploadedAt),
  ],
);
