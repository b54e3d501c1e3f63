/**
 * Upload and download verbs. A member asks for an upload (policy per purpose), gets a presigned
 * PUT (or a multipart plan whose part URLs it asks for on demand) into `quarantine/`, uploads
 * straight to storage, then completes: the object must exist with the declared size and type,
 * the file becomes `uploaded` and `files.uploaded` is recorded in the same transaction. Processing
 * (the job service) takes it from there. Downloads are signed GET URLs of the promoted objects of
 * `ready` files only, never of quarantine/.
 *
 * Visibility: a file is the uploader's and the managers'; attached, it is also visible to whoever
 * may read its parent (maintenance request or comment: its apartment; announcement: residents once
 * published). Anything else answers 404, as does another building's id.
 */
import { and, eq, isNull, lte } from "drizzle-orm";
import { announcements, requestComments } from "../../db/schema";
import { ApiError } from "../../errors";
import { type ObjectStorage, StorageError, sanitizeFileName } from "../../platform/storage";
import { inTransaction, type VerbContext } from "../../verbs";
import { actorId, membershipOf, requireManager } from "../buildings/common";
import { findRequest } from "../maintenance/verbs";
import { recordEvent } from "../outbox";
import { FILES_UPLOADED_TOPIC, type FileUploadedPayload, fileKeys } from "./contract";
import { checkUploadPolicy, type PartPlan, partLength, planParts } from "./policy";
import {
  type AttachmentType,
  type FilePurpose,
  type StoredFileRow,
  storedFiles,
  VARIANT_NAMES,
  type VariantName,
} from "./tables";

export interface CreateUploadInput {
  purpose: FilePurpose;
  contentType: string;
  size: number;
  sha256?: string;
  fileName?: string;
  attachTo?: { type: AttachmentType; id: string };
}

export interface SignedRequest {
  method: "PUT" | "GET";
  url: string;
  headers: Record<string, string>;
  expiresAt: Date;
}

export type UploadInstructions =
  | { kind: "single"; request: SignedRequest }
  | { kind: "multipart"; partSize: number; partCount: number; expiresAt: Date };

/** The storage, or 503 when this host has none (the edge without S3 config). */
export function storageOf(ctx: VerbContext): ObjectStorage {
  const storage = ctx.services.storage;
  if (!storage) throw new ApiError("DEPENDENCY_UNAVAILABLE", "object storage is not configured on this host");
  return storage;
}

const secondsUntil = (ctx: VerbContext, at: Date) => Math.floor((at.getTime() - ctx.now.getTime()) / 1000);

/** Checks the caller may attach a file to the parent (and that it exists in this building). */
async function checkAttachable(
  ctx: VerbContext,
  buildingId: string,
  ref: { type: AttachmentType; id: string },
) {
  const m = membershipOf(ctx, buildingId);
  switch (ref.type) {
    case "maintenance_request":
      await findRequest(ctx, buildingId, ref.id);
      return;
    case "request_comment": {
      const [comment] = await ctx.db
        .select()
        .from(requestComments)
        .where(
          and(
            eq(requestComments.id, ref.id),
            eq(requestComments.buildingId, buildingId),
            isNull(requestComments.deletedAt),
          ),
        );
      if (!comment) throw new ApiError("NOT_FOUND", `comment ${ref.id} not found`);
      await findRequest(ctx, buildingId, comment.requestId);
      if (m.role !== "manager" && comment.authorId !== actorId(ctx)) {
        throw new ApiError("FORBIDDEN", "attach files to your own comments only");
      }
      return;
    }
    case "announcement": {
      requireManager(ctx, buildingId);
      const [row] = await ctx.db
        .select({ id: announcements.id })
        .from(announcements)
        .where(
          and(
            eq(announcements.id, ref.id),
            eq(announcements.buildingId, buildingId),
            isNull(announcements.deletedAt),
          ),
        );
      if (!row) throw new ApiError("NOT_FOUND", `announcement ${ref.id} not found`);
      return;
    }
  }
}

export async function createUpload(args: {
  ctx: VerbContext;
  buildingId: string;
  input: CreateUploadInput;
}): Promise<{ file: StoredFileRow; upload: UploadInstructions }> {
  const { ctx, buildingId, input } = args;
  membershipOf(ctx, buildingId);
  const uploader = actorId(ctx);
  checkUploadPolicy(input.purpose, input.contentType, input.size);
  if (input.attachTo) await checkAttachable(ctx, buildingId, input.attachTo);
  const storage = storageOf(ctx);
  const config = ctx.services.config;
  const id = crypto.randomUUID();
  const quarantineKey = fileKeys.quarantine(buildingId, id);
  const ttl = config.UPLOAD_URL_TTL_SECONDS;
  const expiresAt = new Date(ctx.now.getTime() + ttl * 1000);
  const multipart = input.size > config.UPLOAD_MULTIPART_THRESHOLD_BYTES;
  let plan: PartPlan | undefined;
  let uploadId: string | undefined;
  if (multipart) {
    plan = planParts(input.size, config.UPLOAD_PART_SIZE_BYTES);
    ({ uploadId } = await storage.multipart.create(quarantineKey, { contentType: input.contentType }));
  }
  const [file] = await ctx.db
    .insert(storedFiles)
    .values({
      id,
      buildingId,
      uploadedBy: uploader,
      purpose: input.purpose,
      contentType: input.contentType,
      size: input.size,
      sha256: input.sha256 ?? null,
      originalName: sanitizeFileName(input.fileName ?? "file"),
      quarantineKey,
      status: "pending",
      multipartUploadId: uploadId ?? null,
      partSize: plan?.partSize ?? null,
      attachedType: input.attachTo?.type ?? null,
      attachedId: input.attachTo?.id ?? null,
      expiresAt,
    })
    .returning();
  if (plan) {
    return { file: file!, upload: { kind: "multipart", ...plan, expiresAt } };
  }
  const request = await storage.presignPut({
    key: quarantineKey,
    contentType: input.contentType,
    contentLength: input.size,
    expiresInSec: ttl,
  });
  return { file: file!, upload: { kind: "single", request } };
}

/** The caller's own upload that is still pending; anything else is 404 (or 410 past its deadline). */
async function ownPendingUpload(
  ctx: VerbContext,
  buildingId: string,
  fileId: string,
): Promise<StoredFileRow> {
  membershipOf(ctx, buildingId);
  const [row] = await ctx.db
    .select()
    .from(storedFiles)
    .where(
      and(eq(storedFiles.id, fileId), eq(storedFiles.buildingId, buildingId), isNull(storedFiles.deletedAt)),
    );
  if (!row || row.uploadedBy !== actorId(ctx)) throw new ApiError("NOT_FOUND", `upload ${fileId} not found`);
  if (row.status !== "pending") {
    throw new ApiError("CONFLICT", `upload ${fileId} is already completed (status ${row.status})`);
  }
  if (row.expiresAt <= ctx.now)
    throw new ApiError("GONE", `upload ${fileId} expired at ${row.expiresAt.toISOString()}`);
  return row;
}

/** A multipart upload's plan; a single-PUT upload is one part of its whole size. */
function planOf(row: StoredFileRow): PartPlan {
  if (!row.multipartUploadId || !row.partSize) return { partSize: row.size, partCount: 1 };
  return { partSize: row.partSize, partCount: Math.ceil(row.size / row.partSize) };
}

/**
 * Presigned PUT URLs for the asked parts (each bound to its exact length), valid until the
 * deadline. A single-PUT upload is part 1: asking for it again re-issues its upload URL.
 */
export async function presignParts(args: {
  ctx: VerbContext;
  buildingId: string;
  fileId: string;
  partNumbers: number[];
}): Promise<Array<SignedRequest & { partNumber: number; size: number }>> {
  const { ctx, buildingId, fileId } = args;
  const row = await ownPendingUpload(ctx, buildingId, fileId);
  const plan = planOf(row);
  const bad = args.partNumbers.filter((n) => n < 1 || n > plan.partCount);
  if (bad.length) {
    throw new ApiError("UNPROCESSABLE", `this upload has parts 1 to ${plan.partCount}`, {
      errors: [{ path: "json.partNumbers", message: `out of range: ${bad.join(", ")}` }],
    });
  }
  const storage = storageOf(ctx);
  const expiresInSec = Math.max(1, secondsUntil(ctx, row.expiresAt));
  if (!row.multipartUploadId) {
    const url = await storage.presignPut({
      key: row.quarantineKey,
      contentType: row.contentType,
      contentLength: row.size,
      expiresInSec,
    });
    return [{ ...url, partNumber: 1, size: row.size }];
  }
  return Promise.all(
    [...new Set(args.partNumbers)].map(async (partNumber) => {
      const size = partLength(row.size, plan, partNumber);
      const url = await storage.multipart.presignPart({
        key: row.quarantineKey,
        uploadId: row.multipartUploadId!,
        partNumber,
        contentLength: size,
        expiresInSec,
      });
      return { ...url, partNumber, size };
    }),
  );
}

/** What storage holds of an upload (to resume after a restart), against the plan. */
export async function listUploadParts(args: { ctx: VerbContext; buildingId: string; fileId: string }) {
  const { ctx, buildingId, fileId } = args;
  const row = await ownPendingUpload(ctx, buildingId, fileId);
  const plan = planOf(row);
  const parts = await storedParts(storageOf(ctx), row);
  const complete = parts.filter((p) => p.size === partLength(row.size, plan, p.partNumber));
  return {
    ...plan,
    expiresAt: row.expiresAt,
    parts: complete,
    uploadedBytes: complete.reduce((n, p) => n + p.size, 0),
  };
}

async function storedParts(storage: ObjectStorage, row: StoredFileRow) {
  if (!row.multipartUploadId) {
    const head = await storage.head(row.quarantineKey);
    return head ? [{ partNumber: 1, etag: head.etag, size: head.size }] : [];
  }
  try {
    return await storage.multipart.listParts(row.quarantineKey, row.multipartUploadId!);
  } catch (err) {
    if (err instanceof StorageError && err.code === "NoSuchUpload") {
      throw new ApiError("GONE", `upload ${row.id} no longer exists in storage`);
    }
    throw err;
  }
}

/**
 * Completes an upload: assembles a multipart upload from its parts (all of them, each of its
 * planned length), checks the object is there with the declared size and type, marks the file
 * `uploaded` and records `files.uploaded` in one transaction. Someone else's upload or another
 * building's: 404; twice: 409; before the bytes: 409; after the deadline: 410. Nothing is promoted.
 */
export async function completeUpload(args: {
  ctx: VerbContext;
  buildingId: string;
  fileId: string;
}): Promise<StoredFileRow> {
  const { ctx, buildingId, fileId } = args;
  const row = await ownPendingUpload(ctx, buildingId, fileId);
  const storage = storageOf(ctx);
  if (row.multipartUploadId) {
    const plan = planOf(row);
    const parts = await storedParts(storage, row);
    const byNumber = new Map(parts.map((p) => [p.partNumber, p]));
    const missing: number[] = [];
    for (let n = 1; n <= plan.partCount; n++) {
      if (byNumber.get(n)?.size !== partLength(row.size, plan, n)) missing.push(n);
    }
    if (missing.length) {
      throw new ApiError(
        "CONFLICT",
        `parts not uploaded yet: ${missing.slice(0, 20).join(", ")}${missing.length > 20 ? ", …" : ""}`,
      );
    }
    try {
      await storage.multipart.complete(
        row.quarantineKey,
        row.multipartUploadId,
        [...byNumber.values()]
          .filter((p) => p.partNumber <= plan.partCount)
          .sort((a, b) => a.partNumber - b.partNumber)
          .map(({ partNumber, etag }) => ({ partNumber, etag })),
      );
    } catch (err) {
      if (err instanceof StorageError)
        throw new ApiError("CONFLICT", `storage refused the parts: ${err.message}`);
      throw err;
    }
  }
  const head = await storage.head(row.quarantineKey);
  if (!head) throw new ApiError("CONFLICT", `upload ${fileId} has no bytes in storage yet`);
  if (head.size !== row.size) {
    throw new ApiError("UNPROCESSABLE", `stored ${head.size} bytes, declared ${row.size}`);
  }
  if (head.contentType !== row.contentType) {
    throw new ApiError("UNPROCESSABLE", `stored as ${head.contentType}, declared ${row.contentType}`);
  }
  return inTransaction(ctx, async (tx) => {
    const [done] = await tx.db
      .update(storedFiles)
      .set({ status: "uploaded", uploadedAt: tx.now, updatedAt: tx.now })
      .where(and(eq(storedFiles.id, row.id), eq(storedFiles.status, "pending")))
      .returning();
    if (!done) throw new ApiError("CONFLICT", `upload ${fileId} is already completed`);
    const payload: FileUploadedPayload = { fileId: done.id };
    await recordEvent(tx.db, { topic: FILES_UPLOADED_TOPIC, buildingId, payload });
    return done;
  });
}

/** Cancels the caller's pending upload: storage forgets the bytes and parts, the row goes. */
export async function abortUpload(args: {
  ctx: VerbContext;
  buildingId: string;
  fileId: string;
}): Promise<void> {
  const { ctx, buildingId, fileId } = args;
  const row = await ownPendingUpload(ctx, buildingId, fileId);
  await discardPending(storageOf(ctx), row);
  await ctx.db.delete(storedFiles).where(and(eq(storedFiles.id, row.id), eq(storedFiles.status, "pending")));
}

/** Deletes what storage holds of a pending upload (multipart parts or a single object). */
export async function discardPending(storage: ObjectStorage, row: StoredFileRow): Promise<void> {
  if (row.multipartUploadId) {
    await storage.multipart.abort(row.quarantineKey, row.multipartUploadId).catch((err) => {
      if (!(err instanceof StorageError && err.code === "NoSuchUpload")) throw err;
    });
  }
  await storage.delete([row.quarantineKey]);
}

/** Every object a file may have in storage (quarantine, promoted original, renditions). */
export function objectKeysOf(row: StoredFileRow): string[] {
  const keys = new Set<string>([row.quarantineKey]);
  if (row.finalKey) keys.add(row.finalKey);
  for (const v of Object.values(row.variants ?? {})) if (v?.key) keys.add(v.key);
  return [...keys];
}

/** Whether the caller may see the file (see the module note). */
async function canRead(ctx: VerbContext, buildingId: string, row: StoredFileRow): Promise<boolean> {
  const m = membershipOf(ctx, buildingId);
  if (m.role === "manager" || row.uploadedBy === actorId(ctx)) return true;
  if (!row.attachedType || !row.attachedId) return false;
  try {
    switch (row.attachedType) {
      case "maintenance_request":
        await findRequest(ctx, buildingId, row.attachedId);
        return true;
      case "request_comment": {
        const [c] = await ctx.db
          .select({ requestId: requestComments.requestId })
          .from(requestComments)
          .where(and(eq(requestComments.id, row.attachedId), isNull(requestComments.deletedAt)));
        if (!c) return false;
        await findRequest(ctx, buildingId, c.requestId);
        return true;
      }
      case "announcement": {
        const [a] = await ctx.db
          .select({ id: announcements.id })
          .from(announcements)
          .where(
            and(
              eq(announcements.id, row.attachedId),
              eq(announcements.buildingId, buildingId),
              isNull(announcements.deletedAt),
              lte(announcements.publishedAt, ctx.now),
            ),
          );
        return Boolean(a);
      }
    }
  } catch (err) {
    if (err instanceof ApiError && err.code === "NOT_FOUND") return false;
    throw err;
  }
}

const FORMAT_TYPES: Record<string, string> = {
  webp: "image/webp",
  avif: "image/avif",
  jpeg: "image/jpeg",
  jpg: "image/jpeg",
  png: "image/png",
};

export interface FileUrl {
  url: string;
  expiresAt: Date;
  contentType: string;
  width: number | null;
}

/**
 * Signed GET URLs, valid DOWNLOAD_URL_TTL_SECONDS (or `expiresInSec`), for the original and each
 * rendition of a ready file. Only promoted keys are signed: never anything under quarantine/.
 */
export async function signedUrlsOf(
  ctx: VerbContext,
  row: StoredFileRow,
  expiresInSec = ctx.services.config.DOWNLOAD_URL_TTL_SECONDS,
): Promise<Partial<Record<VariantName, FileUrl>>> {
  if (row.status !== "ready" || !row.finalKey) return {};
  const storage = storageOf(ctx);
  const out: Partial<Record<VariantName, FileUrl>> = {};
  for (const name of VARIANT_NAMES) {
    const variant = row.variants?.[name];
    const key = name === "original" ? (variant?.key ?? row.finalKey) : variant?.key;
    if (!key || key.startsWith("quarantine/")) continue;
    const contentType = variant ? (FORMAT_TYPES[variant.format] ?? row.contentType) : row.contentType;
    const signed = await storage.presignGet({
      key,
      expiresInSec,
      contentType,
      ...(name === "original" ? { downloadName: row.originalName, inline: true } : {}),
    });
    out[name] = {
      url: signed.url,
      expiresAt: signed.expiresAt,
      contentType,
      width: variant?.width ?? row.width,
    };
  }
  return out;
}

export async function getFile(args: {
  ctx: VerbContext;
  buildingId: string;
  fileId: string;
}): Promise<{ file: StoredFileRow; urls: Partial<Record<VariantName, FileUrl>> }> {
  const { ctx, buildingId, fileId } = args;
  membershipOf(ctx, buildingId);
  const [row] = await ctx.db
    .select()
    .from(storedFiles)
    .where(
      and(eq(storedFiles.id, fileId), eq(storedFiles.buildingId, buildingId), isNull(storedFiles.deletedAt)),
    );
  if (!row || !(await canRead(ctx, buildingId, row)))
    throw new ApiError("NOT_FOUND", `file ${fileId} not found`);
  return { file: row, urls: await signedUrlsOf(ctx, row) };
}
