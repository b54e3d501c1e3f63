/**
 * The upload and download API on the real app: PGlite and PostgreSQL, filesystem storage (URLs
 * served by the app itself) and S3 (the SDK through the SigV4-checking proxy in front of s3rver).
 * Bytes go straight to the presigned URLs; the API only signs, checks and records.
 *
 * "Processing" here is done by hand (promote): copy out of quarantine and write renditions, as the
 * job service's handler does, so downloads can be tested without sharp or clamd.
 */

import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outbox, storedFiles } from "../../../src/db/schema";
import { fileKeys } from "../../../src/modules/files/contract";
import { runFilesHousekeeping } from "../../../src/modules/files/housekeeping";
import type { FileVariants } from "../../../src/modules/files/tables";
import { createTestApp, type TestApp } from "../../support/app";
import type { DbKind } from "../../support/db";
import { createBuilding, json, type TestBuilding, type TestUser, tokenFor } from "../../support/fixtures";
import { type S3StandIn, startS3StandIn } from "../../support/s3-standin";

const MiB = 1024 * 1024;
const COMBOS: Array<{ db: DbKind; storage: "filesystem" | "s3" }> = [
  { db: "pglite", storage: "filesystem" },
  { db: "pg", storage: "s3" },
  { db: "pglite", storage: "s3" },
  { db: "pg", storage: "filesystem" },
];

type Json = Record<string, any>;

const bytes = (n: number, seed = 1) => {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 13 + seed) & 0xff;
  return out;
};

describe.each(COMBOS)("uploads on $db with $storage storage", ({ db, storage: kind }) => {
  let t: TestApp;
  let s3: S3StandIn | undefined;
  let b: TestBuilding;
  let other: TestBuilding;
  let clockOffset = 0;

  beforeAll(async () => {
    if (kind === "s3") s3 = await startS3StandIn();
    t = await createTestApp({
      db,
      env: { RATE_LIMIT_ENABLED: "false", DOWNLOAD_URL_TTL_SECONDS: "2", ...(s3?.env ?? {}) },
      clock: { now: () => new Date(Date.now() + clockOffset) },
    });
    b = await createBuilding(t.services);
    other = await createBuilding(t.services);
  });
  afterAll(async () => {
    await t.close();
    await s3?.close();
  });

  const api = (path: string) => `/api/v1/buildings/${b.id}${path}`;
  const call = async (method: string, path: string, user: TestUser, body?: unknown) => {
    const init: RequestInit =
      body === undefined ? { method, headers: user.auth } : { ...json(body, user.auth), method };
    const res = await t.request(path, init);
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as Json, headers: res.headers };
  };
  /** A signed URL: the app's own (filesystem) through app.request, S3 over the network. */
  const send = (url: string, init: RequestInit = {}) =>
    new URL(url).host === "localhost" ? t.app.request(url, init) : fetch(url, init);

  const startUpload = (user: TestUser, input: Json, building = b) =>
    call("POST", `/api/v1/buildings/${building.id}/uploads`, user, input);

  async function uploadPhoto(user: TestUser, extra: Json = {}, size = 4096) {
    const created = await startUpload(user, {
      purpose: "maintenance_photo",
      contentType: "image/jpeg",
      size,
      ...extra,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const req = created.body.upload.request;
    const put = await send(req.url, { method: "PUT", headers: req.headers, body: bytes(size) });
    expect(put.status).toBe(200);
    return created.body.file as Json;
  }

  /** Does what processing does on success: promote out of quarantine, renditions, `ready`. */
  async function promote(fileId: string) {
    const [row] = await t.services.database.db.select().from(storedFiles).where(eq(storedFiles.id, fileId));
    const storage = t.services.storage!;
    const variants: FileVariants = {};
    for (const [name, w] of [
      ["original", 1200],
      ["thumb_150", 150],
      ["thumb_300", 300],
      ["thumb_600", 600],
    ] as const) {
      const key = fileKeys.final(row!.buildingId, fileId, name, "webp");
      await storage.put(key, bytes(w, w), { contentType: "image/webp" });
      variants[name] = { key, size: w, width: w, height: w, format: "webp" };
    }
    await storage.delete([row!.quarantineKey]);
    await t.services.database.db
      .update(storedFiles)
      .set({
        status: "ready",
        finalKey: variants.original!.key,
        variants,
        width: 1200,
        height: 1200,
        processedAt: new Date(),
      })
      .where(eq(storedFiles.id, fileId));
  }

  it("a resident uploads a photo to their request; complete records files.uploaded; the manager gets signed URLs that expire", async () => {
    const request = await call("POST", api("/requests"), b.resident, { title: "Leak under the sink" });
    const file = await uploadPhoto(b.resident, {
      fileName: "IMG_0001.jpg",
      attachTo: { type: "maintenance_request", id: request.body.id },
    });
    expect(file).toMatchObject({
      status: "pending",
      name: "IMG_0001.jpg",
      attachedTo: { id: request.body.id },
    });
    const done = await call("POST", api(`/uploads/${file.id}/complete`), b.resident);
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body).toMatchObject({ id: file.id, status: "uploaded" });
    const events = await t.services.database.db
      .select()
      .from(outbox)
      .where(eq(outbox.topic, "files.uploaded"));
    expect(events.filter((e) => (e.payload as Json).fileId === file.id)).toHaveLength(1);

    // Not ready yet: no URLs at all (never quarantine/).
    const early = await call("GET", api(`/files/${file.id}`), b.manager);
    expect(early.status).toBe(200);
    expect(early.body.urls).toEqual({});
    expect(early.headers.get("cache-control")).toBe("private, no-store");

    await promote(file.id);
    const read = await call("GET", api(`/files/${file.id}`), b.manager);
    expect(read.body.status).toBe("ready");
    expect(Object.keys(read.body.urls).sort()).toEqual(["original", "thumb_150", "thumb_300", "thumb_600"]);
    for (const u of Object.values(read.body.urls) as Json[]) expect(u.url).not.toContain("quarantine");
    const thumb = await send(read.body.urls.thumb_300.url);
    expect(thumb.status).toBe(200);
    expect(thumb.headers.get("content-type")).toBe("image/webp");
    expect((await thumb.arrayBuffer()).byteLength).toBe(300);
    const original = await send(read.body.urls.original.url);
    expect(original.headers.get("content-disposition")).toContain("filename*=UTF-8''IMG_0001.jpg");

    // The resident may see it (their request); the neighbour and another building may not.
    expect((await call("GET", api(`/files/${file.id}`), b.resident)).status).toBe(200);
    expect((await call("GET", api(`/files/${file.id}`), b.neighbour)).status).toBe(404);
    expect((await call("GET", `/api/v1/buildings/${other.id}/files/${file.id}`, other.manager)).status).toBe(
      404,
    );

    // The parent's reads list it (no URLs); a pending upload is not listed.
    await uploadPhoto(b.resident, { attachTo: { type: "maintenance_request", id: request.body.id } });
    const parent = await call("GET", api(`/requests/${request.body.id}`), b.manager);
    expect(parent.body.attachments).toEqual([
      expect.objectContaining({
        id: file.id,
        status: "ready",
        variants: ["original", "thumb_150", "thumb_300", "thumb_600"],
      }),
    ]);
    const list = await call("GET", api("/requests"), b.resident);
    expect(
      list.body.data.find((r: Json) => r.id === request.body.id).attachments.map((a: Json) => a.id),
    ).toEqual([file.id]);
    const comment = await call("POST", api(`/requests/${request.body.id}/comments`), b.resident, {
      body: "Photo",
    });
    const onComment = await uploadPhoto(b.resident, {
      attachTo: { type: "request_comment", id: comment.body.id },
    });
    expect((await call("POST", api(`/uploads/${onComment.id}/complete`), b.resident)).status).toBe(200);
    const comments = await call("GET", api(`/requests/${request.body.id}/comments`), b.manager);
    expect(comments.body.data[0].attachments).toEqual([
      expect.objectContaining({ id: onComment.id, status: "uploaded" }),
    ]);
    // Attaching to what the caller may not see or write is refused.
    expect(
      (
        await startUpload(b.neighbour, {
          purpose: "maintenance_photo",
          contentType: "image/jpeg",
          size: 5,
          attachTo: { type: "maintenance_request", id: request.body.id },
        })
      ).status,
    ).toBe(404);
    expect(
      (
        await startUpload(b.resident, {
          purpose: "announcement_attachment",
          contentType: "image/jpeg",
          size: 5,
          attachTo: { type: "announcement", id: crypto.randomUUID() },
        })
      ).status,
    ).toBe(403);

    // The URL stops working after DOWNLOAD_URL_TTL_SECONDS (2 s here).
    await new Promise((r) => setTimeout(r, 3_200));
    expect((await send(read.body.urls.thumb_300.url)).status).toBe(403);
  });

  it("the purpose's policy: over its maximum is 413 with maxBytes; a type it does not take is 422", async () => {
    const big = await startUpload(b.resident, {
      purpose: "avatar",
      contentType: "image/png",
      size: 5 * MiB + 1,
    });
    expect(big.status).toBe(413);
    expect(big.body).toMatchObject({ code: "PAYLOAD_TOO_LARGE", maxBytes: 5 * MiB });
    const type = await startUpload(b.resident, {
      purpose: "maintenance_photo",
      contentType: "application/pdf",
      size: 10,
    });
    expect(type.status).toBe(422);
    expect(type.body.errors[0].path).toBe("json.contentType");
    const rows = await t.services.database.db
      .select()
      .from(storedFiles)
      .where(eq(storedFiles.uploadedBy, b.resident.id));
    expect(rows.every((r) => r.size <= 5 * MiB)).toBe(true);
  });

  it("client file names never become keys: ../, NUL, RTL overrides and 10 KB names are harmless", async () => {
    const evil = `../../etc/${"A".repeat(10_000 - 30)}\u202Egpj.exe\u0000.jpg`;
    const created = await startUpload(b.resident, {
      purpose: "document",
      contentType: "application/pdf",
      size: 10,
      fileName: evil,
    });
    expect(created.status).toBe(201);
    const [row] = await t.services.database.db
      .select()
      .from(storedFiles)
      .where(eq(storedFiles.id, created.body.file.id));
    expect(row!.quarantineKey).toBe(`quarantine/${b.id}/${row!.id}`);
    for (const bad of ["/", "\\", "\u0000", "\u202e"]) expect(row!.originalName).not.toContain(bad);
    expect(row!.originalName.length).toBeLessThanOrEqual(200);
    expect(created.body.upload.request.url).not.toContain("etc");
    const tooLong = await startUpload(b.resident, {
      purpose: "document",
      contentType: "application/pdf",
      size: 10,
      fileName: "x".repeat(10_001),
    });
    expect(tooLong.status).toBe(400);
  });

  it("completing before the bytes, twice, someone else's, another building's, after the deadline: 4xx, nothing promoted", async () => {
    const created = await startUpload(b.resident, {
      purpose: "maintenance_photo",
      contentType: "image/png",
      size: 100,
    });
    const id = created.body.file.id;
    const early = await call("POST", api(`/uploads/${id}/complete`), b.resident);
    expect(early).toMatchObject({ status: 409, body: { code: "CONFLICT" } });
    const req = created.body.upload.request;
    // Wrong type or more bytes than signed: refused by storage itself.
    expect(
      (await send(req.url, { method: "PUT", headers: { "content-type": "text/html" }, body: bytes(100) }))
        .status,
    ).toBe(403);
    expect((await send(req.url, { method: "PUT", headers: req.headers, body: bytes(101) })).status).toBe(403);
    expect((await send(req.url, { method: "PUT", headers: req.headers, body: bytes(100) })).status).toBe(200);
    expect((await call("POST", api(`/uploads/${id}/complete`), b.neighbour)).status).toBe(404);
    expect((await call("POST", api(`/uploads/${id}/complete`), b.manager)).status).toBe(404);
    expect(
      (await call("POST", `/api/v1/buildings/${other.id}/uploads/${id}/complete`, other.manager)).status,
    ).toBe(404);
    expect((await call("POST", api(`/uploads/${id}/complete`), b.resident)).status).toBe(200);
    expect(await call("POST", api(`/uploads/${id}/complete`), b.resident)).toMatchObject({
      status: 409,
      body: { code: "CONFLICT" },
    });
    const events = await t.services.database.db
      .select()
      .from(outbox)
      .where(eq(outbox.topic, "files.uploaded"));
    expect(events.filter((e) => (e.payload as Json).fileId === id)).toHaveLength(1);

    const late = await uploadPhoto(b.resident);
    clockOffset = t.services.config.UPLOAD_URL_TTL_SECONDS * 1000 + 1000;
    try {
      const token = await tokenFor(t.services, b.resident.id, false, t.services.clock.now());
      const resident = { ...b.resident, auth: { authorization: `Bearer ${token}` } };
      expect(await call("POST", api(`/uploads/${late.id}/complete`), resident)).toMatchObject({
        status: 410,
        body: { code: "GONE" },
      });
    } finally {
      clockOffset = 0;
    }
    const [row] = await t.services.database.db.select().from(storedFiles).where(eq(storedFiles.id, late.id));
    expect(row!.status).toBe("pending");
  });

  it("multipart above the threshold: parts on demand, listed to resume, completed; abort forgets it", async () => {
    const size = 9 * MiB + 123;
    const created = await startUpload(b.resident, {
      purpose: "document",
      contentType: "application/pdf",
      size,
    });
    expect(created.status).toBe(201);
    expect(created.body.upload).toMatchObject({ kind: "multipart", partSize: 8 * MiB, partCount: 2 });
    const id = created.body.file.id;
    const body = bytes(size, 5);
    const urls = await call("POST", api(`/uploads/${id}/parts`), b.resident, { partNumbers: [2] });
    expect(urls.status).toBe(200);
    expect(urls.body.parts).toMatchObject([{ partNumber: 2, size: MiB + 123, method: "PUT" }]);
    const p2 = urls.body.parts[0];
    expect(
      (await send(p2.url, { method: "PUT", headers: p2.headers, body: body.subarray(8 * MiB) })).status,
    ).toBe(200);
    expect((await call("POST", api(`/uploads/${id}/complete`), b.resident)).status).toBe(409);
    // After a restart the client knows only the upload id: the API tells what storage holds.
    const progress = await call("GET", api(`/uploads/${id}/parts`), b.resident);
    expect(progress.body).toMatchObject({
      partCount: 2,
      uploadedBytes: MiB + 123,
      parts: [{ partNumber: 2 }],
    });
    expect((await call("GET", api(`/uploads/${id}/parts`), b.neighbour)).status).toBe(404);
    expect((await call("POST", api(`/uploads/${id}/parts`), b.resident, { partNumbers: [3] })).status).toBe(
      422,
    );
    const p1 = (await call("POST", api(`/uploads/${id}/parts`), b.resident, { partNumbers: [1] })).body
      .parts[0];
    expect(
      (await send(p1.url, { method: "PUT", headers: p1.headers, body: body.subarray(0, 8 * MiB) })).status,
    ).toBe(200);
    const done = await call("POST", api(`/uploads/${id}/complete`), b.resident);
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    const stored = await t.services.storage!.get(fileKeys.quarantine(b.id, id));
    expect(Buffer.from(stored!).equals(Buffer.from(body))).toBe(true);

    const second = await startUpload(b.resident, {
      purpose: "document",
      contentType: "application/pdf",
      size,
    });
    const abort = await call("DELETE", api(`/uploads/${second.body.file.id}`), b.resident);
    expect(abort.status).toBe(204);
    expect((await call("GET", api(`/uploads/${second.body.file.id}/parts`), b.resident)).status).toBe(404);
  });

  it("housekeeping deletes expired uploads, old quarantined objects and the files of deleted parents", async () => {
    const storage = t.services.storage!;
    const abandoned = await uploadPhoto(b.resident);
    const announcement = await call("POST", api("/announcements"), b.manager, {
      title: "Lift",
      body: "Service Monday",
    });
    const attached = await uploadPhoto(b.manager, {
      purpose: "announcement_attachment",
      attachTo: { type: "announcement", id: announcement.body.id },
    });
    expect((await call("POST", api(`/uploads/${attached.id}/complete`), b.manager)).status).toBe(200);
    await promote(attached.id);
    const shown = await call("GET", api(`/announcements/${announcement.body.id}`), b.resident);
    expect(shown.body.attachments.map((x: Json) => x.id)).toEqual([attached.id]);
    const listed = await call("GET", api("/announcements"), b.resident);
    expect(listed.body.data.find((x: Json) => x.id === announcement.body.id).attachments).toHaveLength(1);
    expect((await call("GET", api(`/files/${attached.id}`), b.resident)).status).toBe(200);
    const [before] = await t.services.database.db
      .select()
      .from(storedFiles)
      .where(eq(storedFiles.id, attached.id));
    expect(await storage.head(before!.finalKey!)).not.toBeNull();

    expect((await call("DELETE", api(`/announcements/${announcement.body.id}`), b.manager)).status).toBe(204);
    // Deleting the announcement deleted its files at once.
    for (const key of [before!.finalKey!, ...Object.values(before!.variants!).map((v) => v!.key)]) {
      expect(await storage.head(key)).toBeNull();
    }
    // A request deleted by sync (a tombstone, no REST delete): the sweep deletes its files.
    const request = await call("POST", api("/requests"), b.resident, { title: "Broken tile" });
    const photo = await uploadPhoto(b.resident, {
      attachTo: { type: "maintenance_request", id: request.body.id },
    });
    expect((await call("POST", api(`/uploads/${photo.id}/complete`), b.resident)).status).toBe(200);
    await promote(photo.id);
    const [photoRow] = await t.services.database.db
      .select()
      .from(storedFiles)
      .where(eq(storedFiles.id, photo.id));
    await t.services.database.db.execute(
      sql`update maintenance_requests set deleted_at = now() where id = ${request.body.id}`,
    );
    const later = new Date(Date.now() + 25 * 3600_000);
    const summary = await runFilesHousekeeping(t.services, { now: later });
    expect(summary.expiredUploads).toBeGreaterThanOrEqual(1);
    expect(summary.orphanedFiles).toBeGreaterThanOrEqual(1);
    expect(summary.failures).toBe(0);
    expect(await storage.head(fileKeys.quarantine(b.id, abandoned.id))).toBeNull();
    for (const key of [photoRow!.finalKey!, ...Object.values(photoRow!.variants!).map((v) => v!.key)]) {
      expect(await storage.head(key)).toBeNull();
    }
    const left = await t.services.database.db
      .select({ id: storedFiles.id })
      .from(storedFiles)
      .where(sql`${storedFiles.id} in (${abandoned.id}, ${attached.id}, ${photo.id})`);
    expect(left).toEqual([]);
    expect(
      await storage.list(`quarantine/${b.id}/`, { olderThan: new Date(later.getTime() - 24 * 3600_000) }),
    ).toEqual([]);
  });
});
