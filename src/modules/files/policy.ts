/**
 * Upload policy per purpose (property 19) and the multipart plan (property 22). Pure: the routes,
 * the properties and the SDK's expectations all read these tables.
 */
import { ApiError } from "../../errors";
import { MULTIPART_LIMITS } from "../../platform/storage";
import type { FilePurpose } from "./tables";

const MiB = 1024 * 1024;

const PHOTOS = ["image/jpeg", "image/png", "image/webp", "image/heic", "image/avif"] as const;

export interface PurposePolicy {
  /** Declared Content-Types accepted (processing checks the bytes match). */
  types: readonly string[];
  maxBytes: number;
}

export const PURPOSE_POLICIES: Readonly<Record<FilePurpose, PurposePolicy>> = {
  maintenance_photo: { types: PHOTOS, maxBytes: 25 * MiB },
  avatar: { types: ["image/jpeg", "image/png", "image/webp"], maxBytes: 5 * MiB },
  announcement_attachment: { types: [...PHOTOS, "application/pdf"], maxBytes: 50 * MiB },
  document: { types: ["application/pdf", "image/jpeg", "image/png"], maxBytes: 100 * MiB },
};

/** Whether files of this type get processed renditions (WebP original + thumbnails). */
export const isImageType = (contentType: string) => contentType.startsWith("image/");

/**
 * Refuses an upload its purpose does not allow: a type outside the list is 422 with the allowed
 * types; a size over the maximum is 413 with `maxBytes` (the maximum allowed size).
 */
export function checkUploadPolicy(purpose: FilePurpose, contentType: string, size: number): PurposePolicy {
  const policy = PURPOSE_POLICIES[purpose];
  if (!policy.types.includes(contentType)) {
    throw new ApiError(
      "UNPROCESSABLE",
      `${purpose} uploads accept ${policy.types.join(", ")}, not ${contentType}`,
      {
        errors: [
          {
            path: "json.contentType",
            message: `allowed: ${policy.types.join(", ")}`,
            code: "type_not_allowed",
          },
        ],
      },
    );
  }
  if (size > policy.maxBytes) {
    throw new ApiError(
      "PAYLOAD_TOO_LARGE",
      `${purpose} uploads are at most ${policy.maxBytes} bytes (${policy.maxBytes / MiB} MiB); this one is ${size}`,
      { extensions: { maxBytes: policy.maxBytes } },
    );
  }
  return policy;
}

export interface PartPlan {
  partSize: number;
  partCount: number;
}

/** Largest object multipart can store within S3's limits (10,000 parts of 5 GiB; S3 caps at 5 TiB). */
export const MAX_MULTIPART_BYTES = 5 * 1024 * 1024 * MiB;

/**
 * Splits `size` bytes into parts: the preferred size, grown (to a whole MiB) when the file would
 * need more than 10,000 parts. Every part but the last is `partSize` (R2 requires equal parts),
 * within 5 MiB–5 GiB; the last is 1 byte to `partSize`.
 */
export function planParts(size: number, preferredPartSize: number): PartPlan {
  if (!Number.isSafeInteger(size) || size < 1 || size > MAX_MULTIPART_BYTES) {
    throw new RangeError(`cannot plan a multipart upload of ${size} bytes`);
  }
  const floor = Math.max(
    MULTIPART_LIMITS.minPartSize,
    Math.min(preferredPartSize, MULTIPART_LIMITS.maxPartSize),
  );
  const needed = Math.ceil(Math.ceil(size / MULTIPART_LIMITS.maxParts) / MiB) * MiB;
  const partSize = Math.min(Math.max(floor, needed), MULTIPART_LIMITS.maxPartSize);
  return { partSize, partCount: Math.max(1, Math.ceil(size / partSize)) };
}

/** The byte length of part `partNumber` (1-based) of a plan for `size` bytes. */
export function partLength(size: number, plan: PartPlan, partNumber: number): number {
  if (partNumber < plan.partCount) return plan.partSize;
  return size - plan.partSize * (plan.partCount - 1);
}
