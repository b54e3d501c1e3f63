/**
 * S3 / R2 object storage over @aws-sdk/client-s3 (fetch-based on the edge, so the Worker presigns
 * too). Checksums only WHEN_REQUIRED: the SDK's default puts the CRC32 of an empty body into every
 * presigned PUT/UploadPart URL (aws-sdk-js-v3 issue 6994) and corrupts streamed bodies on some
 * S3-compatible servers. Content-Type and Content-Length are signed into upload URLs
 * (`signableHeaders`), so a client cannot store another type or size than it declared (R2 has no
 * POST policy to do that).
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import {
  contentDisposition,
  type ListedObject,
  type ObjectHead,
  type ObjectStorage,
  type PresignedRequest,
  StorageError,
  type UploadedPart,
} from "./index";
import { createS3Presigner, type PresignArgs } from "./presign";

export interface S3StorageOptions {
  bucket: string;
  region: string;
  /** R2: https://<account>.r2.cloudflarestorage.com; MinIO/s3rver: http://host:port. Unset: AWS. */
  endpoint?: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Path-style URLs (bucket in the path): needed by MinIO and s3rver, fine on R2. */
  forcePathStyle?: boolean;
  /** The signing time of presigned URLs (tests sign in the past to check expiry without waiting). */
  now?: () => Date;
}

const notFound = (err: unknown) =>
  err instanceof S3ServiceException &&
  (err.name === "NotFound" || err.name === "NoSuchKey" || err.$metadata?.httpStatusCode === 404);

const noSuchUpload = (err: unknown) =>
  err instanceof S3ServiceException && (err.name === "NoSuchUpload" || err.$metadata?.httpStatusCode === 404);

export class S3Storage implements ObjectStorage {
  readonly kind = "s3";
  readonly client: S3Client;
  readonly #bucket: string;
  readonly #now: () => Date;
  readonly #presigner: ReturnType<typeof createS3Presigner>;

  constructor(options: S3StorageOptions) {
    this.#bucket = options.bucket;
    this.#now = options.now ?? (() => new Date());
    this.#presigner = createS3Presigner({
      bucket: options.bucket,
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      forcePathStyle: options.forcePathStyle ?? false,
      accessKeyId: options.accessKeyId,
      secretAccessKey: options.secretAccessKey,
    });
    this.client = new S3Client({
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      forcePathStyle: options.forcePathStyle ?? false,
      credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
  }

  async put(key: string, body: Uint8Array, opts: { contentType: string }): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.#bucket, Key: key, Body: body, ContentType: opts.contentType }),
    );
  }

  async get(key: string): Promise<Uint8Array | null> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: key }));
      return res.Body ? await res.Body.transformToByteArray() : new Uint8Array();
    } catch (err) {
      if (notFound(err)) return null;
      throw err;
    }
  }

  async head(key: string): Promise<ObjectHead | null> {
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key }));
      return {
        size: res.ContentLength ?? 0,
        contentType: res.ContentType ?? "application/octet-stream",
        etag: res.ETag ?? "",
        lastModified: res.LastModified ?? new Date(0),
      };
    } catch (err) {
      if (notFound(err)) return null;
      throw err;
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const res = await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.#bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      );
      const failed = (res.Errors ?? []).filter((e) => e.Code !== "NoSuchKey");
      if (failed.length) throw new Error(`delete failed for ${failed.length} objects: ${failed[0]?.Code}`);
    }
  }

  async copy(from: string, to: string): Promise<void> {
    try {
      await this.client.send(
        new CopyObjectCommand({
          Bucket: this.#bucket,
          Key: to,
          CopySource: `${this.#bucket}/${from.split("/").map(encodeURIComponent).join("/")}`,
        }),
      );
    } catch (err) {
      if (notFound(err)) throw new StorageError("NoSuchKey", `no object ${from}`);
      throw err;
    }
  }

  async list(prefix: string, opts: { olderThan?: Date } = {}): Promise<ListedObject[]> {
    const out: ListedObject[] = [];
    let token: string | undefined;
    do {
      const res = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of res.Contents ?? []) {
        const lastModified = o.LastModified ?? new Date(0);
        if (!o.Key || (opts.olderThan && lastModified >= opts.olderThan)) continue;
        out.push({ key: o.Key, size: o.Size ?? 0, lastModified });
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    // S3 lists in UTF-8 binary order; some compatible servers do not.
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** Presigns one request; URL and expiry come from one signing time. */
  async #presign(args: Omit<PresignArgs, "signingDate">): Promise<{ url: string; expiresAt: Date }> {
    const signingDate = this.#now();
    const url = await this.#presigner({ ...args, signingDate });
    // SigV4 dates have whole seconds: the URL expires X-Amz-Expires after the truncated time.
    const signedAt = Math.floor(signingDate.getTime() / 1000) * 1000;
    return { url, expiresAt: new Date(signedAt + args.expiresInSec * 1000) };
  }

  async presignPut(args: {
    key: string;
    contentType: string;
    contentLength: number;
    expiresInSec: number;
  }): Promise<PresignedRequest> {
    const { url, expiresAt } = await this.#presign({
      method: "PUT",
      key: args.key,
      headers: { "content-type": args.contentType, "content-length": String(args.contentLength) },
      expiresInSec: args.expiresInSec,
    });
    return { method: "PUT", url, headers: { "content-type": args.contentType }, expiresAt };
  }

  async presignGet(args: {
    key: string;
    expiresInSec: number;
    downloadName?: string;
    contentType?: string;
    inline?: boolean;
  }): Promise<PresignedRequest> {
    const query: Record<string, string> = {};
    if (args.downloadName !== undefined)
      query["response-content-disposition"] = contentDisposition(args.downloadName, args.inline ?? false);
    if (args.contentType) query["response-content-type"] = args.contentType;
    const { url, expiresAt } = await this.#presign({
      method: "GET",
      key: args.key,
      query,
      expiresInSec: args.expiresInSec,
    });
    return { method: "GET", url, headers: {}, expiresAt };
  }

  readonly multipart = {
    create: async (key: string, opts: { contentType: string }) => {
      const res = await this.client.send(
        new CreateMultipartUploadCommand({ Bucket: this.#bucket, Key: key, ContentType: opts.contentType }),
      );
      if (!res.UploadId) throw new Error("CreateMultipartUpload answered no UploadId");
      return { uploadId: res.UploadId };
    },
    presignPart: async (args: {
      key: string;
      uploadId: string;
      partNumber: number;
      contentLength: number;
      expiresInSec: number;
    }): Promise<PresignedRequest> => {
      const { url, expiresAt } = await this.#presign({
        method: "PUT",
        key: args.key,
        query: { partNumber: String(args.partNumber), uploadId: args.uploadId },
        headers: { "content-length": String(args.contentLength) },
        expiresInSec: args.expiresInSec,
      });
      return { method: "PUT", url, headers: {}, expiresAt };
    },
    listParts: async (key: string, uploadId: string): Promise<UploadedPart[]> => {
      const parts: UploadedPart[] = [];
      let marker: string | undefined;
      try {
        do {
          const res = await this.client.send(
            new ListPartsCommand({
              Bucket: this.#bucket,
              Key: key,
              UploadId: uploadId,
              PartNumberMarker: marker,
            }),
          );
          for (const p of res.Parts ?? []) {
            parts.push({ partNumber: p.PartNumber ?? 0, etag: p.ETag ?? "", size: p.Size ?? 0 });
          }
          marker = res.IsTruncated ? res.NextPartNumberMarker : undefined;
        } while (marker);
      } catch (err) {
        if (noSuchUpload(err)) throw new StorageError("NoSuchUpload", "unknown upload");
        throw err;
      }
      return parts.sort((a, b) => a.partNumber - b.partNumber);
    },
    complete: async (
      key: string,
      uploadId: string,
      parts: ReadonlyArray<{ partNumber: number; etag: string }>,
    ) => {
      try {
        await this.client.send(
          new CompleteMultipartUploadCommand({
            Bucket: this.#bucket,
            Key: key,
            UploadId: uploadId,
            MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
          }),
        );
      } catch (err) {
        if (err instanceof S3ServiceException) {
          if (err.name === "NoSuchUpload") throw new StorageError("NoSuchUpload", "unknown upload");
          if (err.name === "InvalidPart" || err.name === "InvalidPartOrder")
            throw new StorageError("InvalidPart", err.message);
          if (err.name === "EntityTooSmall") throw new StorageError("EntityTooSmall", err.message);
        }
        throw err;
      }
    },
    abort: async (key: string, uploadId: string) => {
      try {
        await this.client.send(
          new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: key, UploadId: uploadId }),
        );
      } catch (err) {
        if (noSuchUpload(err)) throw new StorageError("NoSuchUpload", "unknown upload");
        throw err;
      }
    },
  };

  async check(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.#bucket }));
  }
}
