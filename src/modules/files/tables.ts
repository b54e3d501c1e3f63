/**
 * Stored files: one row per upload, from the presigned PUT to the processed, promoted object.
 *
 * Status machine (who moves it):
 *   pending ──(files: POST …/uploads/{id}/complete, HEAD shows the declared size)──▶ uploaded
 *     the complete verb records outbox topic `files.uploaded` { fileId } in the same transaction.
 *   uploaded ──(processing, the `files.uploaded` handler, helper E)──▶ processing
 *   processing ──(E: scanned clean, images re-encoded + thumbnails, copied out of quarantine/)──▶ ready
 *     E sets final_key, variants, width/height, processed_at and deletes quarantine_key.
 *   processing ──(E: magic bytes ≠ declared type, undecodable, decompression bomb)──▶ rejected
 *   processing ──(E: clamd FOUND)──▶ infected        (both: rejection_reason set, quarantine object deleted)
 *   A handler that crashes leaves `processing`; its retry takes `uploaded | processing` again.
 *   pending rows past expires_at are deleted by housekeeping (files module) with their objects.
 * Files are served (signed GET) only when `ready`, only from final_key / variants, never quarantine/.
 * deleted_at: the parent (request, comment, announcement) was deleted; housekeeping deletes the
 * objects and then the row (the after-commit attempt usually does it at once).
 */
import { bigint, index, integer, jsonb, pgTable, text, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { deletedAt, id, timestamps, tstz } from "../../db/columns";
import { buildings } from "../buildings/schema";
import { users } from "../identity/schema";

export const FILE_PURPOSES = ["maintenance_photo", "announcement_attachment", "avatar", "document"] as const;
export const FILE_STATUSES = ["pending", "uploaded", "processing", "ready", "rejected", "infected"] as const;
/** What a file can be attached to (a file belongs to at most one parent). */
export const ATTACHMENT_TYPES = ["maintenance_request", "request_comment", "announcement"] as const;
/** Processed renditions: the re-encoded original (EXIF stripped) and square-bounded thumbnails. */
export const VARIANT_NAMES = ["original", "thumb_150", "thumb_300", "thumb_600"] as const;

export type FilePurpose = (typeof FILE_PURPOSES)[number];
export type FileStatus = (typeof FILE_STATUSES)[number];
export type AttachmentType = (typeof ATTACHMENT_TYPES)[number];
export type VariantName = (typeof VARIANT_NAMES)[number];

export interface FileVariant {
  key: string;
  size: number;
  width: number;
  height: number;
  /** webp | avif | jpeg | png */
  format: string;
}
export type FileVariants = Partial<Record<VariantName, FileVariant>>;

export const storedFiles = pgTable(
  "stored_files",
  {
    id: id(),
    buildingId: uuid("building_id")
      .notNull()
      .references(() => buildings.id, { onDelete: "cascade" }),
    uploadedBy: uuid("uploaded_by")
      .notNull()
      .references(() => users.id),
    purpose: text("purpose", { enum: FILE_PURPOSES }).notNull(),
    /** What the client declared; bound into the presigned PUT (Content-Type, Content-Length). */
    contentType: text("content_type").notNull(),
    size: bigint("size", { mode: "number" }).notNull(),
    /** Optional hex SHA-256 the client declared (checked by processing when present). */
    sha256: text("sha256"),
    /** The client's file name, sanitized; metadata only (Content-Disposition), never part of a key. */
    originalName: text("original_name").notNull().default("file"),
    /** quarantine/<building>/<file id>: where the client uploads; processing reads it. */
    quarantineKey: text("quarantine_key").notNull(),
    /** The promoted object served as "original" (for images the re-encoded one). Set by processing. */
    finalKey: text("final_key"),
    status: text("status", { enum: FILE_STATUSES }).notNull().default("pending"),
    rejectionReason: text("rejection_reason"),
    width: integer("width"),
    height: integer("height"),
    variants: jsonb("variants").$type<FileVariants>(),
    /** Multipart uploads (size above the threshold): the storage upload id and the part size. */
    multipartUploadId: text("multipart_upload_id"),
    partSize: integer("part_size"),
    attachedType: text("attached_type", { enum: ATTACHMENT_TYPES }),
    attachedId: uuid("attached_id"),
    /** Upload URLs stop working, and an incomplete upload is deleted, after this. */
    expiresAt: tstz("expires_at").notNull(),
    uploadedAt: tstz("uploaded_at"),
    processedAt: tstz("processed_at"),
    ...timestamps(),
    deletedAt: deletedAt(),
  },
  (t) => [
    uniqueIndex("stored_files_quarantine_key_uq").on(t.quarantineKey),
    index("stored_files_building_attached_idx").on(t.buildingId, t.attachedType, t.attachedId),
    index("stored_files_status_expires_idx").on(t.status, t.expiresAt),
    index("stored_files_uploaded_by_idx").on(t.uploadedBy),
  ],
);

export type StoredFileRow = typeof storedFiles.$inferSelect;
