/** Response shapes of files and uploads, shared by the routes (and the parents' reads). */
import { z } from "@hono/zod-openapi";
import { rowTimes, Timestamp } from "../buildings/common";
import { ATTACHMENT_TYPES, FILE_PURPOSES, FILE_STATUSES, type StoredFileRow, VARIANT_NAMES } from "./tables";

export const Sha256Hex = z
  .string()
  .regex(/^[0-9a-f]{64}$/, "64 lowercase hex digits")
  .openapi({ example: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" });

export const AttachmentRefSchema = z
  .strictObject({ type: z.enum(ATTACHMENT_TYPES), id: z.uuid() })
  .openapi("AttachmentRef");

export const FileSchema = z
  .object({
    id: z.uuid(),
    buildingId: z.uuid(),
    uploadedBy: z.uuid(),
    purpose: z.enum(FILE_PURPOSES),
    contentType: z.string(),
    size: z.number().int(),
    name: z.string().openapi({ description: "The client's file name, sanitized (metadata only)" }),
    status: z.enum(FILE_STATUSES),
    rejectionReason: z.string().nullable(),
    width: z.number().int().nullable(),
    height: z.number().int().nullable(),
    variants: z.array(z.enum(VARIANT_NAMES)).openapi({
      description: "Renditions available once ready (original, thumb_150, thumb_300, thumb_600)",
    }),
    attachedTo: AttachmentRefSchema.nullable(),
    expiresAt: Timestamp.openapi({ description: "Upload deadline (pending uploads)" }),
    uploadedAt: Timestamp.nullable(),
    processedAt: Timestamp.nullable(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi("File");

export type FileDto = z.infer<typeof FileSchema>;

export function toFile(row: StoredFileRow): FileDto {
  const variants = VARIANT_NAMES.filter((v) => row.variants?.[v]);
  if (row.status === "ready" && row.finalKey && !variants.includes("original")) variants.unshift("original");
  return {
    id: row.id,
    buildingId: row.buildingId,
    uploadedBy: row.uploadedBy,
    purpose: row.purpose,
    contentType: row.contentType,
    size: row.size,
    name: row.originalName,
    status: row.status,
    rejectionReason: row.rejectionReason,
    width: row.width,
    height: row.height,
    variants: row.status === "ready" ? variants : [],
    attachedTo: row.attachedType && row.attachedId ? { type: row.attachedType, id: row.attachedId } : null,
    expiresAt: row.expiresAt.toISOString(),
    uploadedAt: row.uploadedAt?.toISOString() ?? null,
    processedAt: row.processedAt?.toISOString() ?? null,
    ...rowTimes({ createdAt: row.createdAt, updatedAt: row.updatedAt }),
  };
}

export const SignedRequestSchema = z
  .object({
    method: z.enum(["PUT", "GET"]),
    url: z.string().openapi({ description: "Absolute URL; send it untouched" }),
    headers: z.record(z.string(), z.string()).openapi({ description: "Send exactly these headers (signed)" }),
    expiresAt: Timestamp,
  })
  .openapi("SignedRequest");

/** A part of a multipart upload and the URL to PUT it to. */
export const PartUrlSchema = z
  .object({
    ...SignedRequestSchema.shape,
    partNumber: z.number().int(),
    size: z.number().int().openapi({ description: "Exact byte length of this part (signed)" }),
  })
  .openapi("UploadPartUrl");

export const UploadInstructionsSchema = z
  .discriminatedUnion("kind", [
    z.object({ kind: z.literal("single"), request: SignedRequestSchema }),
    z.object({
      kind: z.literal("multipart"),
      partSize: z.number().int(),
      partCount: z.number().int(),
      expiresAt: Timestamp,
    }),
  ])
  .openapi("UploadInstructions");

/** A signed download of one rendition. */
export const FileUrlSchema = z
  .object({
    url: z.string(),
    expiresAt: Timestamp,
    contentType: z.string(),
    width: z.number().int().nullable(),
  })
  .openapi("FileUrl");

// Spread, not .extend(): an extended schema is documented as allOf its parent.
export const FileWithUrlsSchema = z
  .object({
    ...FileSchema.shape,
    urls: z
      .partialRecord(z.enum(VARIANT_NAMES), FileUrlSchema)
      .openapi({ description: "Signed GET URLs (ready files only), valid until each expiresAt" }),
  })
  .openapi("FileWithUrls");

/** A file as listed in its parent's reads (no URLs: GET the file for those). */
export const AttachmentSchema = FileSchema.pick({
  id: true,
  purpose: true,
  contentType: true,
  size: true,
  name: true,
  status: true,
  width: true,
  height: true,
  variants: true,
}).openapi("Attachment");
export type AttachmentDto = z.infer<typeof AttachmentSchema>;

export function toAttachment(row: StoredFileRow): AttachmentDto {
  const { id, purpose, contentType, size, name, status, width, height, variants } = toFile(row);
  return { id, purpose, contentType, size, name, status, width, height, variants };
}

/** The `attachments` member of a parent's read. */
export const AttachmentsField = z.array(AttachmentSchema).optional().openapi({
  description:
    "Files attached (single and list reads; pending uploads left out). Signed URLs: GET /buildings/{buildingId}/files/{fileId}",
});
