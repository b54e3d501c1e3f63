/**
 * Filesystem object storage (the embedded default): objects under `<root>/objects/<key>`, their
 * metadata in `<root>/meta/<key>.json`, multipart parts under `<root>/multipart/<uploadId>/`.
 *
 * Its "presigned" URLs are served by the app itself (`serve`, mounted at /storage/ by createApp)
 * and behave like S3's: an HMAC-SHA256 over method, key, content type, exact length, expiry,
 * multipart upload id and part number, and response disposition. A request that differs in any of
 * them, arrives after the expiry, or carries more or fewer bytes than signed is refused (403/400)
 * before anything is stored. Node and Bun only (node:fs); the edge uses S3.
 */
import { createHash, createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, sep } from "node:path";
import {
  contentDisposition,
  type ListedObject,
  MULTIPART_LIMITS,
  type ObjectHead,
  type ObjectStorage,
  type PresignedRequest,
  StorageError,
  type UploadedPart,
} from "./index";

export interface FilesystemStorageOptions {
  /** Folder holding everything (DATA_DIR/storage). */
  root: string;
  /** HMAC key of the signed URLs (at least 32 bytes of secret). */
  secret: string;
  /** Absolute base (https://api.example) or "" for path-only URLs the API resolves per request. */
  baseUrl?: string;
  /** Mount path of `serve` in the app. */
  mountPath?: string;
  now?: () => Date;
  /** Smallest non-last part (S3: 5 MiB); tests lower it to exercise multipart cheaply. */
  minPartSize?: number;
}

interface Meta {
  contentType: string;
  etag: string;
  size: number;
  lastModified: string;
}

/** What a signature binds; `serve` rebuilds it from the query and compares. */
interface Grant {
  method: "PUT" | "GET";
  key: string;
  expires: number;
  contentType: string;
  length: string;
  uploadId: string;
  partNumber: string;
  disposition: string;
}

const canonical = (g: Grant) =>
  [g.method, g.key, g.expires, g.contentType, g.length, g.uploadId, g.partNumber, g.disposition].join("\n");

/** Generated keys only: segments of safe characters, never `.`/`..`, NUL, backslash or absolute. */
function assertKey(key: string): string[] {
  const segments = key.split("/");
  if (
    !key ||
    key.length > 1024 ||
    segments.some((s) => !s || s === "." || s === ".." || !/^[A-Za-z0-9._=-]+$/.test(s))
  ) {
    throw new StorageError("InvalidRequest", "invalid object key");
  }
  return segments;
}

const etagOf = (bytes: Uint8Array | string) => `"${createHash("md5").update(bytes).digest("hex")}"`;

export class FilesystemStorage implements ObjectStorage {
  readonly kind = "filesystem";
  readonly #root: string;
  readonly #secret: string;
  readonly #base: string;
  readonly #mount: string;
  readonly #now: () => Date;
  readonly #minPart: number;

  constructor(options: FilesystemStorageOptions) {
    this.#root = options.root;
    this.#secret = options.secret;
    this.#base = (options.baseUrl ?? "").replace(/\/$/, "");
    this.#mount = options.mountPath ?? "/storage";
    this.#now = options.now ?? (() => new Date());
    this.#minPart = options.minPartSize ?? MULTIPART_LIMITS.minPartSize;
  }

  #objectPath(key: string) {
    return join(this.#root, "objects", ...assertKey(key));
  }
  #metaPath(key: string) {
    return `${join(this.#root, "meta", ...assertKey(key))}.json`;
  }
  #uploadDir(uploadId: string) {
    if (!/^[0-9a-f-]{36}$/.test(uploadId)) throw new StorageError("NoSuchUpload", "unknown upload");
    return join(this.#root, "multipart", uploadId);
  }

  async #write(key: string, body: Uint8Array, contentType: string, etag = etagOf(body)) {
    const path = this.#objectPath(key);
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${randomUUID()}.tmp`;
    await writeFile(tmp, body);
    await rename(tmp, path);
    const meta: Meta = { contentType, etag, size: body.byteLength, lastModified: this.#now().toISOString() };
    const metaPath = this.#metaPath(key);
    await mkdir(dirname(metaPath), { recursive: true });
    await writeFile(metaPath, JSON.stringify(meta));
  }

  async put(key: string, body: Uint8Array, opts: { contentType: string }): Promise<void> {
    await this.#write(key, body, opts.contentType);
  }

  async get(key: string): Promise<Uint8Array | null> {
    try {
      return new Uint8Array(await readFile(this.#objectPath(key)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
  }

  async #meta(key: string): Promise<Meta | null> {
    try {
      return JSON.parse(await readFile(this.#metaPath(key), "utf8")) as Meta;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
  }

  async head(key: string): Promise<ObjectHead | null> {
    const meta = await this.#meta(key);
    if (!meta) return null;
    return {
      size: meta.size,
      contentType: meta.contentType,
      etag: meta.etag,
      lastModified: new Date(meta.lastModified),
    };
  }

  async delete(keys: readonly string[]): Promise<void> {
    await Promise.all(
      keys.flatMap((k) => [rm(this.#objectPath(k), { force: true }), rm(this.#metaPath(k), { force: true })]),
    );
  }

  async copy(from: string, to: string): Promise<void> {
    const [body, meta] = await Promise.all([this.get(from), this.#meta(from)]);
    if (!body || !meta) throw new StorageError("NoSuchKey", `no object ${from}`);
    await this.#write(to, body, meta.contentType, meta.etag);
  }

  async list(prefix: string, opts: { olderThan?: Date } = {}): Promise<ListedObject[]> {
    const metaRoot = join(this.#root, "meta");
    let entries: string[];
    try {
      entries = (await readdir(metaRoot, { recursive: true })) as string[];
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
    const out: ListedObject[] = [];
    for (const entry of entries) {
      if (!entry.endsWith(".json")) continue;
      const key = entry.slice(0, -5).split(sep).join("/");
      if (!key.startsWith(prefix)) continue;
      const meta = await this.#meta(key).catch(() => null);
      if (!meta) continue;
      const lastModified = new Date(meta.lastModified);
      if (opts.olderThan && lastModified >= opts.olderThan) continue;
      out.push({ key, size: meta.size, lastModified });
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  #sign(g: Grant): PresignedRequest {
    const sig = createHmac("sha256", this.#secret).update(canonical(g)).digest("base64url");
    const q = new URLSearchParams({ m: g.method, exp: String(g.expires) });
    if (g.contentType) q.set("ct", g.contentType);
    if (g.length) q.set("len", g.length);
    if (g.uploadId) q.set("uploadId", g.uploadId);
    if (g.partNumber) q.set("partNumber", g.partNumber);
    if (g.disposition) q.set("cd", g.disposition);
    q.set("sig", sig);
    const path = `${this.#mount}/${g.key.split("/").map(encodeURIComponent).join("/")}`;
    const headers: Record<string, string> = {};
    if (g.method === "PUT" && g.contentType) headers["content-type"] = g.contentType;
    return {
      method: g.method,
      url: `${this.#base}${path}?${q}`,
      headers,
      expiresAt: new Date(g.expires * 1000),
    };
  }

  #expiry(expiresInSec: number) {
    return Math.floor(this.#now().getTime() / 1000) + Math.max(1, Math.floor(expiresInSec));
  }

  async presignPut(args: {
    key: string;
    contentType: string;
    contentLength: number;
    expiresInSec: number;
  }): Promise<PresignedRequest> {
    assertKey(args.key);
    return this.#sign({
      method: "PUT",
      key: args.key,
      expires: this.#expiry(args.expiresInSec),
      contentType: args.contentType,
      length: String(args.contentLength),
      uploadId: "",
      partNumber: "",
      disposition: "",
    });
  }

  async presignGet(args: {
    key: string;
    expiresInSec: number;
    downloadName?: string;
    contentType?: string;
    inline?: boolean;
  }): Promise<PresignedRequest> {
    assertKey(args.key);
    return this.#sign({
      method: "GET",
      key: args.key,
      expires: this.#expiry(args.expiresInSec),
      contentType: args.contentType ?? "",
      length: "",
      uploadId: "",
      partNumber: "",
      disposition:
        args.downloadName !== undefined ? contentDisposition(args.downloadName, args.inline ?? false) : "",
    });
  }

  readonly multipart = {
    create: async (key: string, opts: { contentType: string }) => {
      assertKey(key);
      const uploadId = randomUUID();
      const dir = this.#uploadDir(uploadId);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, "upload.json"), JSON.stringify({ key, contentType: opts.contentType }));
      return { uploadId };
    },
    presignPart: async (args: {
      key: string;
      uploadId: string;
      partNumber: number;
      contentLength: number;
      expiresInSec: number;
    }) => {
      assertKey(args.key);
      return this.#sign({
        method: "PUT",
        key: args.key,
        expires: this.#expiry(args.expiresInSec),
        contentType: "",
        length: String(args.contentLength),
        uploadId: args.uploadId,
        partNumber: String(args.partNumber),
        disposition: "",
      });
    },
    listParts: async (key: string, uploadId: string): Promise<UploadedPart[]> => {
      await this.#upload(key, uploadId);
      const dir = this.#uploadDir(uploadId);
      const parts: UploadedPart[] = [];
      for (const name of await readdir(dir)) {
        const m = /^part-(\d+)\.json$/.exec(name);
        if (!m) continue;
        const info = JSON.parse(await readFile(join(dir, name), "utf8")) as UploadedPart;
        parts.push(info);
      }
      return parts.sort((a, b) => a.partNumber - b.partNumber);
    },
    complete: async (
      key: string,
      uploadId: string,
      parts: ReadonlyArray<{ partNumber: number; etag: string }>,
    ) => {
      const upload = await this.#upload(key, uploadId);
      const stored = new Map((await this.multipart.listParts(key, uploadId)).map((p) => [p.partNumber, p]));
      if (!parts.length) throw new StorageError("InvalidPart", "no parts given");
      const chunks: Uint8Array[] = [];
      const md5s: Buffer[] = [];
      let previous = 0;
      for (const [i, part] of parts.entries()) {
        const have = stored.get(part.partNumber);
        if (part.partNumber <= previous) throw new StorageError("InvalidPart", "parts must ascend");
        previous = part.partNumber;
        if (!have || have.etag.replaceAll('"', "") !== part.etag.replaceAll('"', "")) {
          throw new StorageError("InvalidPart", `part ${part.partNumber} was not uploaded with that ETag`);
        }
        if (i < parts.length - 1 && have.size < this.#minPart) {
          throw new StorageError("EntityTooSmall", `part ${part.partNumber} is smaller than the minimum`);
        }
        const bytes = await readFile(join(this.#uploadDir(uploadId), `part-${part.partNumber}`));
        chunks.push(bytes);
        md5s.push(Buffer.from(have.etag.replaceAll('"', ""), "hex"));
      }
      const body = Buffer.concat(chunks);
      const etag = `"${createHash("md5").update(Buffer.concat(md5s)).digest("hex")}-${parts.length}"`;
      await this.#write(key, body, upload.contentType, etag);
      await rm(this.#uploadDir(uploadId), { recursive: true, force: true });
    },
    abort: async (key: string, uploadId: string) => {
      await this.#upload(key, uploadId);
      await rm(this.#uploadDir(uploadId), { recursive: true, force: true });
    },
  };

  async #upload(key: string, uploadId: string): Promise<{ key: string; contentType: string }> {
    try {
      const info = JSON.parse(await readFile(join(this.#uploadDir(uploadId), "upload.json"), "utf8"));
      if (info.key !== key) throw new StorageError("NoSuchUpload", "unknown upload");
      return info;
    } catch (err) {
      if (err instanceof StorageError) throw err;
      if ((err as NodeJS.ErrnoException).code === "ENOENT")
        throw new StorageError("NoSuchUpload", "unknown upload");
      throw err;
    }
  }

  async check(): Promise<void> {
    await mkdir(this.#root, { recursive: true });
    await stat(this.#root);
  }

  /**
   * Serves a signed URL (PUT upload or part, GET download) like a bucket would: 403 for a bad or
   * expired signature or a header that differs from the signed one, 400 for a body shorter than
   * signed, 404 for a missing object. Answers S3-style XML errors.
   */
  async serve(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (!url.pathname.startsWith(`${this.#mount}/`)) return xmlError(404, "NoSuchKey", "not found");
    let key: string;
    try {
      key = url.pathname
        .slice(this.#mount.length + 1)
        .split("/")
        .map(decodeURIComponent)
        .join("/");
      assertKey(key);
    } catch {
      return xmlError(400, "InvalidRequest", "invalid key");
    }
    const q = url.searchParams;
    const method = request.method === "HEAD" ? "GET" : request.method;
    const grant: Grant = {
      method: method as "PUT" | "GET",
      key,
      expires: Number(q.get("exp")),
      contentType: q.get("ct") ?? "",
      length: q.get("len") ?? "",
      uploadId: q.get("uploadId") ?? "",
      partNumber: q.get("partNumber") ?? "",
      disposition: q.get("cd") ?? "",
    };
    if ((method !== "PUT" && method !== "GET") || q.get("m") !== method) {
      return xmlError(403, "SignatureDoesNotMatch", "the method is not the signed one");
    }
    const expected = createHmac("sha256", this.#secret).update(canonical(grant)).digest();
    const given = Buffer.from(q.get("sig") ?? "", "base64url");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return xmlError(403, "SignatureDoesNotMatch", "the request signature does not match");
    }
    if (!Number.isFinite(grant.expires) || this.#now().getTime() / 1000 > grant.expires) {
      return xmlError(403, "AccessDenied", "Request has expired");
    }
    if (method === "GET") return this.#serveGet(key, grant, request.method === "HEAD");
    return this.#servePut(request, key, grant);
  }

  async #serveGet(key: string, grant: Grant, headOnly: boolean): Promise<Response> {
    const meta = await this.#meta(key);
    const body = meta && !headOnly ? await this.get(key) : null;
    if (!meta || (!headOnly && !body)) return xmlError(404, "NoSuchKey", "The specified key does not exist.");
    const headers = new Headers({
      "content-type": grant.contentType || meta.contentType,
      "content-length": String(meta.size),
      etag: meta.etag,
      "last-modified": new Date(meta.lastModified).toUTCString(),
      "cache-control": "private, max-age=0",
      "x-content-type-options": "nosniff",
    });
    if (grant.disposition) headers.set("content-disposition", grant.disposition);
    return new Response(headOnly ? null : (body as Uint8Array<ArrayBuffer>), { status: 200, headers });
  }

  async #servePut(request: Request, key: string, grant: Grant): Promise<Response> {
    if (grant.contentType && request.headers.get("content-type") !== grant.contentType) {
      return xmlError(403, "SignatureDoesNotMatch", "Content-Type differs from the signed one");
    }
    const declared = request.headers.get("content-length");
    const limit = Number(grant.length);
    if (declared !== null && Number(declared) !== limit) {
      return xmlError(403, "SignatureDoesNotMatch", "Content-Length differs from the signed one");
    }
    const body = await readCapped(request, limit);
    if (body === "too-large") return xmlError(403, "SignatureDoesNotMatch", "the body is larger than signed");
    if (body.byteLength !== limit) return xmlError(400, "IncompleteBody", "the body is shorter than signed");
    if (grant.uploadId) {
      const partNumber = Number(grant.partNumber);
      try {
        await this.#upload(key, grant.uploadId);
      } catch {
        return xmlError(404, "NoSuchUpload", "The specified upload does not exist.");
      }
      const dir = this.#uploadDir(grant.uploadId);
      const etag = etagOf(body);
      const tmp = join(dir, `part-${partNumber}.${randomUUID()}.tmp`);
      await writeFile(tmp, body);
      await rename(tmp, join(dir, `part-${partNumber}`));
      await writeFile(
        join(dir, `part-${partNumber}.json`),
        JSON.stringify({ partNumber, etag, size: body.byteLength }),
      );
      return new Response(null, { status: 200, headers: { etag } });
    }
    const etag = etagOf(body);
    await this.#write(key, body, grant.contentType || "application/octet-stream", etag);
    return new Response(null, { status: 200, headers: { etag } });
  }
}

/** Reads at most `limit` bytes; more answers "too-large" without buffering the rest. */
async function readCapped(request: Request, limit: number): Promise<Uint8Array | "too-large"> {
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      return "too-large";
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}

function xmlError(status: number, code: string, message: string): Response {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  return new Response(body, { status, headers: { "content-type": "application/xml" } });
}

/**
 * The filesystem adapter of a config: DATA_DIR/storage, URLs signed with STORAGE_SIGNING_SECRET or
 * a key derived from JWT_SECRET (so URLs survive a restart), else a key of this process only.
 */
export function filesystemStorageFor(config: {
  DATA_DIR: string;
  STORAGE_SIGNING_SECRET?: string | undefined;
  JWT_SECRET?: string | undefined;
  STORAGE_PUBLIC_URL?: string | undefined;
}): FilesystemStorage {
  const secret =
    config.STORAGE_SIGNING_SECRET ??
    (config.JWT_SECRET
      ? createHmac("sha256", config.JWT_SECRET).update("horizon/storage-url-signing").digest("hex")
      : randomUUID() + randomUUID());
  return new FilesystemStorage({
    root: join(config.DATA_DIR, "storage"),
    secret,
    baseUrl: config.STORAGE_PUBLIC_URL ?? "",
  });
}
