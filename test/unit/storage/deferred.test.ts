/**
 * Deferred object storage (the Bun/Node hosts' S3): nothing is loaded until the first call,
 * concurrent first calls share one load, and a load that fails is tried again by the next call
 * instead of failing every call after it.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../../src/config";
import { deferredS3StorageFor, deferredStorage } from "../../../src/platform/storage/deferred";
import { FilesystemStorage } from "../../../src/platform/storage/filesystem";

const roots: string[] = [];
afterAll(async () => {
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

describe("deferred storage", () => {
  it("loads once, at the first call; a failed load is retried by the next call", async () => {
    const root = await mkdtemp(join(tmpdir(), "deferred-storage-"));
    roots.push(root);
    let loads = 0;
    const storage = deferredStorage("filesystem", async () => {
      loads++;
      if (loads === 1) throw new Error("module not there yet");
      return new FilesystemStorage({ root, secret: "deferred-secret-deferred-secret-0123456789" });
    });
    expect(storage.kind).toBe("filesystem");
    expect(loads).toBe(0);

    await expect(storage.get("a/b")).rejects.toThrow("module not there yet");
    expect(loads).toBe(1);

    const bytes = new TextEncoder().encode("hello");
    await Promise.all([
      storage.put("a/b", bytes, { contentType: "text/plain" }),
      storage.head("missing"),
      storage.multipart.create("a/big", { contentType: "application/octet-stream" }),
    ]);
    expect(loads).toBe(2);
    expect(await storage.get("a/b")).toEqual(bytes);
    expect((await storage.head("a/b"))?.size).toBe(5);
    expect((await storage.list("a/")).map((o) => o.key)).toEqual(["a/b"]);
    expect(loads).toBe(2);
  });

  it("S3 only when the config asks for it", () => {
    expect(deferredS3StorageFor(parseConfig({}))).toBeUndefined();
    const s3 = deferredS3StorageFor(
      parseConfig({
        STORAGE_DRIVER: "s3",
        S3_BUCKET: "b",
        S3_REGION: "auto",
        S3_ACCESS_KEY_ID: "k",
        S3_SECRET_ACCESS_KEY: "s",
      }),
    );
    expect(s3?.kind).toBe("s3");
  });
});
