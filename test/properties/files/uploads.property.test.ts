/**
 * Properties 19, 21 and 22 of the design (file storage): size validation per purpose through the
 * real API, signed URLs that work until their expiry and never after (both adapters: filesystem
 * with its clock, S3 signed in the past and checked by the SigV4 proxy), and chunked uploads that
 * reassemble exactly whatever order and interruptions the parts come in.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  MAX_MULTIPART_BYTES,
  PURPOSE_POLICIES,
  partLength,
  planParts,
} from "../../../src/modules/files/policy";
import { FILE_PURPOSES } from "../../../src/modules/files/tables";
import { MULTIPART_LIMITS } from "../../../src/platform/storage";
import { FilesystemStorage } from "../../../src/platform/storage/filesystem";
import { S3Storage } from "../../../src/platform/storage/s3";
import { createTestApp, type TestApp } from "../../support/app";
import { createBuilding, json, type TestBuilding } from "../../support/fixtures";
import { type S3StandIn, startS3StandIn } from "../../support/s3-standin";

const RUNS = 100;
const MiB = 1024 * 1024;

describe("file storage properties", () => {
  let t: TestApp;
  let b: TestBuilding;
  let root: string;
  let s3: S3StandIn;

  beforeAll(async () => {
    t = await createTestApp({ env: { RATE_LIMIT_ENABLED: "false" } });
    b = await createBuilding(t.services);
    root = await mkdtemp(join(tmpdir(), "files-props-"));
    s3 = await startS3StandIn();
  });
  afterAll(async () => {
    await t.close();
    await s3.close();
    await rm(root, { recursive: true, force: true });
  });

  it("Property 19: File size validation — any upload over its purpose's maximum is rejected with 413 naming the maximum; any within it is accepted", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...FILE_PURPOSES).chain((purpose) =>
          fc.record({
            purpose: fc.constant(purpose),
            contentType: fc.constantFrom(...PURPOSE_POLICIES[purpose].types),
            size: fc.oneof(
              fc.integer({ min: 1, max: PURPOSE_POLICIES[purpose].maxBytes }),
              fc.integer({ min: PURPOSE_POLICIES[purpose].maxBytes + 1, max: 2 ** 40 }),
              fc.constantFrom(PURPOSE_POLICIES[purpose].maxBytes, PURPOSE_POLICIES[purpose].maxBytes + 1),
            ),
          }),
        ),
        async (input) => {
          const res = await t.request(`/api/v1/buildings/${b.id}/uploads`, json(input, b.resident.auth));
          const body = (await res.json()) as Record<string, any>;
          const max = PURPOSE_POLICIES[input.purpose].maxBytes;
          if (input.size > max) {
            expect(res.status).toBe(413);
            expect(body).toMatchObject({ code: "PAYLOAD_TOO_LARGE", maxBytes: max });
            expect(body.detail).toContain(String(max));
          } else {
            expect(res.status, JSON.stringify(body)).toBe(201);
            expect(body.file).toMatchObject({ size: input.size, status: "pending" });
            // Done with it: the upload is cancelled so storage keeps nothing.
            const del = await t.request(`/api/v1/buildings/${b.id}/uploads/${body.file.id}`, {
              method: "DELETE",
              headers: b.resident.auth,
            });
            expect(del.status).toBe(204);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("Property 21: Signed URL generation — a signed URL works until its configurable expiry and is refused after it (filesystem)", async () => {
    let now = Date.UTC(2026, 11, 7, 9, 0, 0);
    const storage = new FilesystemStorage({
      root,
      secret: "property-secret-property-secret-0123",
      now: () => new Date(now),
    });
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 0, maxLength: 2048 }),
        fc.integer({ min: 1, max: 7 * 24 * 3600 }),
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        fc.integer({ min: 1, max: 3600 }),
        async (content, ttl, before, after) => {
          const key = `p21/${n++}/original.webp`;
          await storage.put(key, content, { contentType: "image/webp" });
          const signedAt = now;
          const get = await storage.presignGet({ key, expiresInSec: ttl, contentType: "image/webp" });
          expect(get.expiresAt.getTime()).toBe(Math.floor(signedAt / 1000) * 1000 + ttl * 1000);
          const fetchAt = async (at: number) => {
            now = at;
            return storage.serve(new Request(new URL(get.url, "http://files.test")));
          };
          const ok = await fetchAt(signedAt + Math.floor(before * (get.expiresAt.getTime() - signedAt)));
          expect(ok.status).toBe(200);
          expect(new Uint8Array(await ok.arrayBuffer())).toEqual(content);
          expect((await fetchAt(get.expiresAt.getTime() + after * 1000)).status).toBe(403);
          now = signedAt + 1;
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("Property 21: Signed URL generation — a presigned S3 URL works until its expiry and is refused after it (SigV4 proxy)", async () => {
    const writer = new S3Storage({
      bucket: s3.bucket,
      region: s3.region,
      endpoint: s3.endpoint,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
      forcePathStyle: true,
    });
    await writer.put("p21/object", new Uint8Array([1, 2, 3]), { contentType: "image/webp" });
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 5, max: 7 * 24 * 3600 }),
        fc.boolean(),
        fc.integer({ min: 2, max: 3600 }),
        async (ttl, expired, margin) => {
          // Signed `age` seconds ago: still valid when age < ttl, expired when age > ttl.
          const age = expired ? ttl + margin : Math.max(0, ttl - Math.min(margin, ttl) - 2);
          const signer = new S3Storage({
            bucket: s3.bucket,
            region: s3.region,
            endpoint: s3.endpoint,
            accessKeyId: s3.accessKeyId,
            secretAccessKey: s3.secretAccessKey,
            forcePathStyle: true,
            now: () => new Date(Date.now() - age * 1000),
          });
          const get = await signer.presignGet({ key: "p21/object", expiresInSec: ttl });
          expect(new URL(get.url).searchParams.get("X-Amz-Expires")).toBe(String(ttl));
          expect((await fetch(get.url)).status).toBe(expired ? 403 : 200);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("Property 22: Chunked upload support — every multipart plan fits S3's limits and covers the file exactly", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: MAX_MULTIPART_BYTES }),
        fc.integer({ min: 0, max: 6 * 1024 * MiB }),
        (size, preferred) => {
          const plan = planParts(size, preferred);
          expect(plan.partCount).toBeGreaterThanOrEqual(1);
          expect(plan.partCount).toBeLessThanOrEqual(MULTIPART_LIMITS.maxParts);
          expect(plan.partSize).toBeGreaterThanOrEqual(MULTIPART_LIMITS.minPartSize);
          expect(plan.partSize).toBeLessThanOrEqual(MULTIPART_LIMITS.maxPartSize);
          const last = partLength(size, plan, plan.partCount);
          expect(last).toBeGreaterThanOrEqual(1);
          expect(last).toBeLessThanOrEqual(plan.partSize);
          expect(plan.partSize * (plan.partCount - 1) + last).toBe(size);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("Property 22: Chunked upload support — parts uploaded in any order, across restarts, reassemble into exactly the file, with progress tracked", async () => {
    const minPartSize = 1024;
    const storage = new FilesystemStorage({
      root,
      secret: "property-secret-property-secret-0123",
      minPartSize,
    });
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 40_000 }),
        fc.integer({ min: minPartSize, max: 8192 }),
        fc.infiniteStream(fc.double({ min: 0, max: 1, noNaN: true })),
        fc.integer({ min: 0, max: 3 }),
        async (content, partSize, randoms, restarts) => {
          const key = `p22/${n++}/upload`;
          const count = Math.ceil(content.length / partSize);
          const part = (i: number) =>
            content.subarray((i - 1) * partSize, Math.min(i * partSize, content.length));
          const { uploadId } = await storage.multipart.create(key, { contentType: "application/pdf" });
          // Parts in a random order; the client "restarts" a few times, forgetting all it knew.
          const order = Array.from({ length: count }, (_, i) => i + 1);
          const rnd = randoms[Symbol.iterator]();
          for (let i = order.length - 1; i > 0; i--) {
            const j = Math.floor((rnd.next().value as number) * (i + 1));
            [order[i], order[j]] = [order[j]!, order[i]!];
          }
          let progress = 0;
          const cut = new Set(
            Array.from({ length: restarts }, () => Math.floor((rnd.next().value as number) * count)),
          );
          for (let k = 0; k < order.length; k++) {
            if (cut.has(k)) {
              const held = await storage.multipart.listParts(key, uploadId);
              const bytes = held.reduce((s, p) => s + p.size, 0);
              expect(bytes).toBeGreaterThanOrEqual(progress);
              progress = bytes;
              expect(held.map((p) => p.partNumber)).toEqual(order.slice(0, k).sort((a, c) => a - c));
            }
            const i = order[k]!;
            const url = await storage.multipart.presignPart({
              key,
              uploadId,
              partNumber: i,
              contentLength: part(i).length,
              expiresInSec: 60,
            });
            const res = await storage.serve(
              new Request(new URL(url.url, "http://files.test"), { method: "PUT", body: part(i) }),
            );
            expect(res.status).toBe(200);
          }
          const parts = await storage.multipart.listParts(key, uploadId);
          expect(parts.reduce((s, p) => s + p.size, 0)).toBe(content.length);
          await storage.multipart.complete(key, uploadId, parts);
          expect(await storage.get(key)).toEqual(content);
          await storage.delete([key]);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
