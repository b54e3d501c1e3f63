/**
 * The object storage contract: one suite, run against every adapter — the filesystem (its signed
 * URLs served by the adapter's own `serve` over real HTTP) and S3 (the real @aws-sdk client through
 * the SigV4-checking proxy in front of s3rver, built from config as the hosts build it). Clients talk to presigned URLs with plain fetch,
 * as the SDK and browsers do. Each test uses keys of its own.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { serve } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config";
import { type ObjectStorage, StorageError } from "../../src/platform/storage";
import { deferredS3StorageFor } from "../../src/platform/storage/deferred";
import { FilesystemStorage } from "../../src/platform/storage/filesystem";
import { S3Storage } from "../../src/platform/storage/s3";
import { freePort } from "../support/net";
import { type S3StandIn, startS3StandIn } from "../support/s3-standin";

/** Small parts keep the suite fast; both sides enforce the same minimum for non-last parts. */
const MIN_PART = 64 * 1024;

type Factory = { name: string; create(): Promise<ObjectStorage>; dispose(): Promise<void> };

let standIn: S3StandIn | undefined;
let fsRoot = "";
let fsServer: Server | undefined;

const adapters: Factory[] = [
  {
    name: "filesystem",
    async create() {
      fsRoot = await mkdtemp(join(tmpdir(), "storage-fs-"));
      const port = await freePort();
      const storage: FilesystemStorage = new FilesystemStorage({
        root: fsRoot,
        secret: "contract-secret-contract-secret-0123456789",
        baseUrl: `http://127.0.0.1:${port}`,
        minPartSize: MIN_PART,
      });
      fsServer = serve({ fetch: (req) => storage.serve(req), port, hostname: "127.0.0.1" }) as Server;
      return storage;
    },
    async dispose() {
      await new Promise((r) => fsServer?.close(r));
      await rm(fsRoot, { recursive: true, force: true });
    },
  },
  {
    name: "s3",
    async create() {
      standIn = await startS3StandIn({ minPartSize: MIN_PART });
      // As the Bun/Node hosts build it: from config, the SDK loaded by the first call.
      const storage = deferredS3StorageFor(parseConfig(standIn.env));
      if (!storage) throw new Error("S3 config did not select S3 storage");
      return storage;
    },
    dispose: async () => standIn?.close(),
  },
];

const bytes = (n: number, seed = 1) => {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
};

describe.each(adapters)("storage contract: $name", (adapter) => {
  let storage: ObjectStorage;
  const key = (name = "obj") => `t/${randomUUID()}/${name}`;

  beforeAll(async () => {
    storage = await adapter.create();
    await storage.check();
  });
  afterAll(async () => adapter.dispose());

  it("puts, heads, gets, copies, lists and deletes objects", async () => {
    const a = key("a");
    const body = bytes(1000);
    await storage.put(a, body, { contentType: "image/png" });
    const head = await storage.head(a);
    expect(head).toMatchObject({ size: 1000, contentType: "image/png" });
    expect(head?.etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(await storage.get(a)).toEqual(body);
    const b = `${a}-copy`;
    await storage.copy(a, b);
    expect(await storage.get(b)).toEqual(body);
    expect((await storage.head(b))?.contentType).toBe("image/png");
    const prefix = a.slice(0, a.lastIndexOf("/") + 1);
    expect((await storage.list(prefix)).map((o) => o.key)).toEqual([a, b]);
    expect(await storage.list(prefix, { olderThan: new Date(Date.now() - 60_000) })).toEqual([]);
    expect((await storage.list(prefix, { olderThan: new Date(Date.now() + 60_000) })).length).toBe(2);
    await storage.delete([a, b, key("never-existed")]);
    expect(await storage.get(a)).toBeNull();
    expect(await storage.head(b)).toBeNull();
    await expect(storage.copy(a, b)).rejects.toBeInstanceOf(StorageError);
  });

  it("a presigned PUT stores exactly the signed type and size", async () => {
    const k = key();
    const body = bytes(2048, 7);
    const put = await storage.presignPut({
      key: k,
      contentType: "image/jpeg",
      contentLength: 2048,
      expiresInSec: 60,
    });
    expect(put.method).toBe("PUT");
    expect(put.expiresAt.getTime()).toBeGreaterThan(Date.now() + 50_000);
    const res = await fetch(put.url, { method: "PUT", headers: put.headers, body });
    expect(res.status).toBe(200);
    expect(await storage.head(k)).toMatchObject({ size: 2048, contentType: "image/jpeg" });
    expect(await storage.get(k)).toEqual(body);
  });

  it("a presigned PUT refuses another Content-Type, a larger or smaller body, a tampered URL", async () => {
    const k = key();
    const put = await storage.presignPut({
      key: k,
      contentType: "image/jpeg",
      contentLength: 100,
      expiresInSec: 60,
    });
    const wrongType = await fetch(put.url, {
      method: "PUT",
      headers: { "content-type": "text/html" },
      body: bytes(100),
    });
    expect(wrongType.status).toBe(403);
    const larger = await fetch(put.url, { method: "PUT", headers: put.headers, body: bytes(101) });
    expect(larger.status).toBe(403);
    const smaller = await fetch(put.url, { method: "PUT", headers: put.headers, body: bytes(99) });
    expect(smaller.status).toBeGreaterThanOrEqual(400);
    expect(smaller.status).toBeLessThan(500);
    const tampered = put.url.replace(k, key());
    const other = await fetch(tampered, { method: "PUT", headers: put.headers, body: bytes(100) });
    expect(other.status).toBe(403);
    expect(await storage.head(k)).toBeNull();
  });

  it("a streamed body without Content-Length, longer than signed, is refused and nothing is stored", async () => {
    const k = key();
    const put = await storage.presignPut({
      key: k,
      contentType: "image/jpeg",
      contentLength: 100,
      expiresInSec: 60,
    });
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes(60));
        controller.enqueue(bytes(60));
        controller.close();
      },
    });
    const res = await fetch(put.url, {
      method: "PUT",
      headers: put.headers,
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(403);
    expect(await storage.head(k)).toBeNull();
  });

  it("a presigned GET serves the object with a safe Content-Disposition; tampering is refused", async () => {
    const k = key();
    await storage.put(k, bytes(300), { contentType: "application/pdf" });
    const get = await storage.presignGet({
      key: k,
      expiresInSec: 60,
      downloadName: '../../etc/pa"ss\u202Ewd\u0000.pdf',
    });
    const res = await fetch(get.url);
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes(300));
    const cd = res.headers.get("content-disposition") ?? "";
    expect(cd).toMatch(/^attachment; filename="[^"/\\]*"; filename\*=UTF-8''/);
    expect(cd).not.toMatch(/\.\.\//);
    expect(cd.includes("\u202e") || cd.includes("\u0000")).toBe(false);
    expect(decodeURIComponent(cd.split("''")[1]!)).toBe('pa"sswd.pdf');
    const u = new URL(get.url);
    u.pathname = u.pathname.replace(/[^/]+$/, "other");
    expect((await fetch(u)).status).toBe(403);
    expect((await fetch(`${get.url}x`)).status).toBe(403);
  });

  it("presigned URLs stop working after their expiry", async () => {
    const k = key();
    await storage.put(k, bytes(10), { contentType: "text/plain" });
    const get = await storage.presignGet({ key: k, expiresInSec: 1 });
    const put = await storage.presignPut({
      key: key(),
      contentType: "text/plain",
      contentLength: 10,
      expiresInSec: 1,
    });
    expect((await fetch(get.url)).status).toBe(200);
    await sleep(2_200);
    expect((await fetch(get.url)).status).toBe(403);
    expect((await fetch(put.url, { method: "PUT", headers: put.headers, body: bytes(10) })).status).toBe(403);
  });

  it("multipart: parts in any order, listed to resume, completed into one object", async () => {
    const k = key();
    const { uploadId } = await storage.multipart.create(k, { contentType: "video/mp4" });
    const sizes = [MIN_PART, MIN_PART, 1000];
    const parts = sizes.map((n, i) => bytes(n, i + 3));
    const putPart = async (i: number, body = parts[i]!) => {
      const url = await storage.multipart.presignPart({
        key: k,
        uploadId,
        partNumber: i + 1,
        contentLength: body.byteLength,
        expiresInSec: 60,
      });
      return fetch(url.url, { method: "PUT", headers: url.headers, body });
    };
    expect((await putPart(2)).status).toBe(200);
    expect((await putPart(0)).status).toBe(200);
    // "Restart": nothing remembered but the upload id; the storage tells what it holds.
    const listed = await storage.multipart.listParts(k, uploadId);
    expect(listed.map((p) => [p.partNumber, p.size])).toEqual([
      [1, MIN_PART],
      [3, 1000],
    ]);
    expect((await putPart(1)).status).toBe(200);
    // A part larger than signed is refused.
    const big = await storage.multipart.presignPart({
      key: k,
      uploadId,
      partNumber: 4,
      contentLength: 10,
      expiresInSec: 60,
    });
    expect((await fetch(big.url, { method: "PUT", body: bytes(11) })).status).toBe(403);
    const all = await storage.multipart.listParts(k, uploadId);
    await storage.multipart.complete(
      k,
      uploadId,
      all.map(({ partNumber, etag }) => ({ partNumber, etag })),
    );
    const got = await storage.get(k);
    expect(got?.byteLength).toBe(MIN_PART * 2 + 1000);
    expect(Buffer.from(got!).equals(Buffer.concat(parts))).toBe(true);
    expect((await storage.head(k))?.contentType).toBe("video/mp4");
  });

  it("multipart: a non-last part under the minimum is refused at completion", async () => {
    const k = key();
    const { uploadId } = await storage.multipart.create(k, { contentType: "application/pdf" });
    for (const [i, n] of [100, 100].entries()) {
      const url = await storage.multipart.presignPart({
        key: k,
        uploadId,
        partNumber: i + 1,
        contentLength: n,
        expiresInSec: 60,
      });
      expect((await fetch(url.url, { method: "PUT", body: bytes(n) })).status).toBe(200);
    }
    const parts = await storage.multipart.listParts(k, uploadId);
    await expect(storage.multipart.complete(k, uploadId, parts)).rejects.toMatchObject({
      code: "EntityTooSmall",
    });
    await storage.multipart.abort(k, uploadId);
  });

  it("multipart: an aborted upload is gone (no list, no more parts, no completion)", async () => {
    const k = key();
    const { uploadId } = await storage.multipart.create(k, { contentType: "application/pdf" });
    const url = await storage.multipart.presignPart({
      key: k,
      uploadId,
      partNumber: 1,
      contentLength: 10,
      expiresInSec: 60,
    });
    await storage.multipart.abort(k, uploadId);
    await expect(storage.multipart.listParts(k, uploadId)).rejects.toMatchObject({ code: "NoSuchUpload" });
    expect((await fetch(url.url, { method: "PUT", body: bytes(10) })).status).toBe(404);
    await expect(
      storage.multipart.complete(k, uploadId, [{ partNumber: 1, etag: '"x"' }]),
    ).rejects.toMatchObject({
      code: "NoSuchUpload",
    });
    expect(await storage.head(k)).toBeNull();
  });
});

describe("s3 stand-in: the SigV4 proxy refuses what S3 refuses", () => {
  let s3: S3StandIn;
  beforeAll(async () => {
    s3 = await startS3StandIn();
  });
  afterAll(async () => s3.close());
  const client = (secretAccessKey: string) =>
    new S3Storage({
      bucket: s3.bucket,
      region: s3.region,
      endpoint: s3.endpoint,
      accessKeyId: s3.accessKeyId,
      secretAccessKey,
      forcePathStyle: true,
    });

  it("header-signed SDK requests with the wrong secret, and anonymous requests, are 403", async () => {
    await expect(
      client("not-the-secret").put("x/y", bytes(5), { contentType: "text/plain" }),
    ).rejects.toMatchObject({
      name: "SignatureDoesNotMatch",
    });
    await client(s3.secretAccessKey).put("x/y", bytes(5), { contentType: "text/plain" });
    expect((await fetch(`${s3.endpoint}/${s3.bucket}/x/y`)).status).toBe(403);
    expect(s3.refusals.map((r) => r.code)).toEqual(["SignatureDoesNotMatch", "AccessDenied"]);
  });

  it("a presigned URL signed with the wrong secret is 403 though s3rver alone would serve it", async () => {
    await client(s3.secretAccessKey).put("x/z", bytes(5), { contentType: "text/plain" });
    const forged = await client("forged-secret").presignGet({ key: "x/z", expiresInSec: 60 });
    expect((await fetch(forged.url)).status).toBe(403);
    const real = await client(s3.secretAccessKey).presignGet({ key: "x/z", expiresInSec: 60 });
    expect((await fetch(real.url)).status).toBe(200);
    expect(new URL(real.url).searchParams.get("X-Amz-SignedHeaders")).toBe("host");
    const put = await client(s3.secretAccessKey).presignPut({
      key: "x/w",
      contentType: "image/png",
      contentLength: 5,
      expiresInSec: 60,
    });
    expect(new URL(put.url).searchParams.get("X-Amz-SignedHeaders")).toBe("content-length;content-type;host");
  });
});
