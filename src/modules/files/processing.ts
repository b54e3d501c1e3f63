/**
 * Processing of an upload (`files.uploaded`, family `files`: 2 retries at 5 s and 10 s), on the
 * hosts that run Node APIs (the job service, the standalone host): sharp and clamd never reach the
 * Worker, which is why workers/node-handlers.ts is the only importer of this file.
 *
 *   uploaded ─▶ processing ─▶ read quarantine/ ─▶ SHA-256 (when declared) ─▶ magic bytes
 *     ─▶ image header (pixel limit: a bomb never reaches clamd, whose image hashing decodes it) ─▶ clamd
 *     ─▶ images: one decode → WebP/AVIF original + 150/300/600 thumbnails; documents: as uploaded
 *     ─▶ write every rendition under files/<building>/<file>/ ─▶ status ready (one UPDATE, with
 *        the room frame) ─▶ delete the quarantined object
 *
 * Crash safety: renditions have fixed keys and are all written before the status flips, and the
 * flip is the last write, so a crash anywhere leaves the file `processing` and the retry redoes
 * the work (overwriting the same keys); a file is never `ready` with a rendition missing.
 * Refusals (`rejected`: not what it claims, undecodable, a bomb; `infected`: clamd found malware)
 * are final: status and reason first, in one transaction with the room frame (and, for malware,
 * the audit row and the uploader's notification), then the object is deleted — a rerun of a final
 * file only repeats that idempotent delete.
 */
import { createHash } from "node:crypto";
import { and, eq, inArray, isNull } from "drizzle-orm";
import type { ImagePipelineOptions } from "../../platform/images/process";
import { checkDeclaredType, isImageType, SNIFF_BYTES } from "../../platform/images/sniff";
import { ScanError } from "../../platform/scan";
import type { ObjectStorage } from "../../platform/storage";
import { inTransaction } from "../../verbs";
import { recordAudit } from "../audit/chain";
import { notify } from "../notifications/notify";
import {
  type HandlerRegistry,
  type OutboxHandlerContext,
  outboxHandlers,
  PermanentDeliveryError,
} from "../outbox/registry";
import { recordBuildingEvent } from "../realtime/publish";
import { FILES_UPLOADED_TOPIC, FileUploadedPayload, fileKeys } from "./contract";
import {
  type FileVariant,
  type FileVariants,
  type StoredFileRow,
  storedFiles,
  type VariantName,
} from "./tables";

/**
 * The image pipeline (sharp, ~50 ms of module loading) is loaded by the first image this process
 * handles, not by every host start: the standalone host imports this file at boot.
 */
let imagePipeline: Promise<typeof import("../../platform/images/process")> | undefined;
const loadImagePipeline = () => {
  imagePipeline ??= import("../../platform/images/process");
  return imagePipeline;
};

export type ProcessingOutcome =
  | { status: "ready"; variants: FileVariants }
  | { status: "rejected"; reason: string }
  | { status: "infected"; signature: string }
  /** Nothing to do: the file is gone, or another delivery already finished it. */
  | { status: "skipped"; why: string };

const EXTENSIONS: Record<string, string> = {
  "application/pdf": "pdf",
  "image/jpeg": "jpg",
  "image/png": "png",
  "image/gif": "gif",
  "image/webp": "webp",
  "image/avif": "avif",
  "image/heic": "heic",
};

class Refusal extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

function imageOptions(ctx: OutboxHandlerContext): ImagePipelineOptions {
  const c = ctx.services.config;
  return {
    maxInputPixels: c.IMAGE_MAX_INPUT_PIXELS,
    maxDimension: c.IMAGE_MAX_DIMENSION,
    format: c.IMAGE_FORMAT,
  };
}

/** Writes the renditions of `bytes` under the file's final prefix; answers their descriptions. */
async function writeRenditions(
  ctx: OutboxHandlerContext,
  storage: ObjectStorage,
  row: StoredFileRow,
  mime: string,
  bytes: Uint8Array,
): Promise<{ finalKey: string; variants: FileVariants; width: number | null; height: number | null }> {
  if (!isImageType(mime)) {
    // Documents are promoted as uploaded (type checked, scanned): no rendition to make.
    const key = fileKeys.final(row.buildingId, row.id, "original", EXTENSIONS[mime] ?? "bin");
    await storage.put(key, bytes, { contentType: mime });
    return { finalKey: key, variants: {}, width: null, height: null };
  }
  const { processImage, ImageRejectedError } = await loadImagePipeline();
  let processed: Awaited<ReturnType<typeof processImage>>;
  try {
    processed = await processImage(bytes, imageOptions(ctx));
  } catch (err) {
    if (err instanceof ImageRejectedError) throw new Refusal(`image_${err.reason}`);
    throw err;
  }
  const format = processed.original.format;
  const contentType = `image/${format}`;
  const outputs: Array<[VariantName, { data: Buffer; width: number; height: number }]> = [
    ["original", processed.original],
    ...processed.thumbnails.map((t) => [`thumb_${t.size}` as VariantName, t] as [VariantName, typeof t]),
  ];
  const variants: FileVariants = {};
  await Promise.all(
    outputs.map(async ([name, out]) => {
      const key = fileKeys.final(row.buildingId, row.id, name, format);
      await storage.put(key, out.data, { contentType });
      const variant: FileVariant = {
        key,
        size: out.data.byteLength,
        width: out.width,
        height: out.height,
        format,
      };
      variants[name] = variant;
    }),
  );
  return {
    finalKey: variants.original!.key,
    variants,
    width: processed.original.width,
    height: processed.original.height,
  };
}

/** The final refusal: status + reason + room frame (+ audit and notice for malware), then the object goes. */
async function refuse(
  ctx: OutboxHandlerContext,
  storage: ObjectStorage,
  row: StoredFileRow,
  outcome: { status: "rejected"; reason: string } | { status: "infected"; signature: string },
): Promise<boolean> {
  const reason = outcome.status === "infected" ? `malware: ${outcome.signature}` : outcome.reason;
  const changed = await inTransaction(ctx, async (tx) => {
    const [done] = await tx.db
      .update(storedFiles)
      .set({
        status: outcome.status,
        rejectionReason: reason.slice(0, 500),
        processedAt: tx.now,
        updatedAt: tx.now,
      })
      .where(and(eq(storedFiles.id, row.id), eq(storedFiles.status, "processing")))
      .returning({ id: storedFiles.id });
    if (!done) return false;
    await recordBuildingEvent(tx.db, row.buildingId, {
      kind: "file.processed",
      fileId: row.id,
      uploadedBy: row.uploadedBy,
      status: outcome.status,
    });
    if (outcome.status === "infected") {
      await recordAudit(tx, {
        action: "file.infected",
        entityType: "file",
        entityId: row.id,
        buildingId: row.buildingId,
        userId: null,
        changes: {
          // Not `signature`: the audit trail redacts keys of that name (secrets).
          malware: outcome.signature,
          uploadedBy: row.uploadedBy,
          contentType: row.contentType,
          size: row.size,
        },
      });
      // The uploader hears it on every channel (alert is critical), once per file.
      await notify(tx.db, {
        type: "alert",
        to: { userIds: [row.uploadedBy] },
        buildingId: row.buildingId,
        key: `file-infected:${row.id}`,
        values: {
          title: "Upload removed: malware found",
          detail: `Your file "${row.originalName}" contained ${outcome.signature} and was deleted.`,
        },
        data: { fileId: row.id },
      });
    } else if (reason.startsWith("dangerous")) {
      // An executable posing as a photo is worth a line in the trail even without a scanner.
      await recordAudit(tx, {
        action: "file.rejected",
        entityType: "file",
        entityId: row.id,
        buildingId: row.buildingId,
        userId: null,
        changes: { reason, uploadedBy: row.uploadedBy, contentType: row.contentType },
      });
    }
    return true;
  });
  await storage.delete([row.quarantineKey]);
  return changed;
}

/**
 * Processes one uploaded file (see the module note). Answers what became of it; throws for
 * failures a retry may fix (storage or clamd unreachable), and PermanentDeliveryError for a
 * payload that can never be processed.
 */
export async function processUpload(ctx: OutboxHandlerContext, fileId: string): Promise<ProcessingOutcome> {
  const storage = ctx.services.storage;
  if (!storage) throw new Error("files.uploaded needs object storage on this host");
  const [row] = await ctx.db.select().from(storedFiles).where(eq(storedFiles.id, fileId));
  if (!row || row.deletedAt) {
    if (row) await storage.delete([row.quarantineKey]);
    return { status: "skipped", why: "the file is gone" };
  }
  if (row.status === "ready" || row.status === "rejected" || row.status === "infected") {
    // A repeated delivery: finish the one step that may have been cut short.
    await storage.delete([row.quarantineKey]);
    return { status: "skipped", why: `already ${row.status}` };
  }
  if (row.status === "pending") throw new PermanentDeliveryError(`file ${fileId} was never completed`);

  const [claimed] = await ctx.db
    .update(storedFiles)
    .set({ status: "processing", updatedAt: ctx.services.clock.now() })
    .where(
      and(
        eq(storedFiles.id, row.id),
        inArray(storedFiles.status, ["uploaded", "processing"]),
        isNull(storedFiles.deletedAt),
      ),
    )
    .returning();
  if (!claimed) return { status: "skipped", why: "changed meanwhile" };
  const file = claimed;

  const bytes = await storage.get(file.quarantineKey);
  if (!bytes) {
    // Nothing to process and nothing to retry for: housekeeping removed it, or it never arrived.
    await refuse(ctx, storage, file, { status: "rejected", reason: "object_missing" });
    return { status: "rejected", reason: "object_missing" };
  }

  try {
    if (bytes.byteLength !== file.size)
      throw new Refusal(`size_mismatch: stored ${bytes.byteLength}, declared ${file.size}`);
    if (file.sha256 && createHash("sha256").update(bytes).digest("hex") !== file.sha256.toLowerCase()) {
      throw new Refusal("sha256_mismatch");
    }
    const verdict = checkDeclaredType(bytes.subarray(0, SNIFF_BYTES), file.contentType);
    if (!verdict.ok) {
      throw new Refusal(
        verdict.reason === "dangerous"
          ? `dangerous: ${verdict.what} declared as ${file.contentType}`
          : `type_mismatch: declared ${verdict.declared}, content is ${verdict.actual}`,
      );
    }

    if (isImageType(verdict.mime)) {
      // Header only, before clamd: its image fuzzy hashing would decode a bomb in full.
      const { inspectImage, ImageRejectedError } = await loadImagePipeline();
      try {
        await inspectImage(bytes, imageOptions(ctx));
      } catch (err) {
        if (err instanceof ImageRejectedError) throw new Refusal(`image_${err.reason}`);
        throw err;
      }
    }

    const scanner = ctx.services.scanner;
    if (scanner) {
      let scan: Awaited<ReturnType<typeof scanner.scan>>;
      try {
        scan = await scanner.scan(bytes);
      } catch (err) {
        // Too large for clamd: never promoted unscanned. Timeouts and refused connections retry.
        if (err instanceof ScanError && err.kind === "size_limit") throw new Refusal("too_large_to_scan");
        throw err;
      }
      if (!scan.clean) {
        await refuse(ctx, storage, file, { status: "infected", signature: scan.signature });
        ctx.services.logger.warn(
          { event: "file_infected", fileId, buildingId: file.buildingId, signature: scan.signature },
          "malware found in an upload; object deleted",
        );
        return { status: "infected", signature: scan.signature };
      }
    }

    const { finalKey, variants, width, height } = await writeRenditions(
      ctx,
      storage,
      file,
      verdict.mime,
      bytes,
    );
    const promoted = await inTransaction(ctx, async (tx) => {
      const [done] = await tx.db
        .update(storedFiles)
        .set({
          status: "ready",
          finalKey,
          variants,
          width,
          height,
          rejectionReason: null,
          processedAt: tx.now,
          updatedAt: tx.now,
        })
        .where(
          and(
            eq(storedFiles.id, file.id),
            eq(storedFiles.status, "processing"),
            isNull(storedFiles.deletedAt),
          ),
        )
        .returning({ id: storedFiles.id });
      if (!done) return false;
      await recordBuildingEvent(tx.db, file.buildingId, {
        kind: "file.processed",
        fileId: file.id,
        uploadedBy: file.uploadedBy,
        status: "ready",
      });
      return true;
    });
    if (!promoted) {
      // Deleted (or finished by another delivery) while we worked: what we wrote is nobody's.
      const [now] = await ctx.db
        .select({ status: storedFiles.status, deletedAt: storedFiles.deletedAt })
        .from(storedFiles)
        .where(eq(storedFiles.id, file.id));
      if (!now || now.deletedAt)
        await storage.delete([finalKey, ...Object.values(variants).map((v) => v!.key)]);
      return { status: "skipped", why: "changed meanwhile" };
    }
    await storage.delete([file.quarantineKey]);
    ctx.services.logger.info(
      {
        event: "file_processed",
        fileId,
        buildingId: file.buildingId,
        variants: Object.keys(variants),
        bytes: file.size,
      },
      "upload processed",
    );
    return { status: "ready", variants };
  } catch (err) {
    if (!(err instanceof Refusal)) throw err;
    await refuse(ctx, storage, file, { status: "rejected", reason: err.reason });
    ctx.services.logger.info({ event: "file_rejected", fileId, reason: err.reason }, "upload rejected");
    return { status: "rejected", reason: err.reason };
  }
}

export function registerFileProcessing(registry: HandlerRegistry = outboxHandlers): () => void {
  return registry.register(FILES_UPLOADED_TOPIC, {
    payload: FileUploadedPayload,
    async handle(payload, ctx) {
      await processUpload(ctx, payload.fileId);
    },
  });
}
