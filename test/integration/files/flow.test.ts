/**
 * The "done when", end to end on the real app: a resident uploads a phone photo (JPEG with
 * GPS EXIF) to their maintenance request through the presigned URL, completes the upload, the
 * `files.uploaded` event is delivered to the processing handler the Node hosts register (sharp;
 * clamd unset here, its own tests run it), and the manager sees the 300 px thumbnail through a
 * signed URL that stops working after its expiry. Filesystem storage on PGlite, the S3 stand-in
 * (SigV4-checking proxy over s3rver) on PostgreSQL.
 */
import { eq } from "drizzle-orm";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outbox } from "../../../src/db/schema";
import { createOutboxConsumer } from "../../../src/modules/outbox/consumer";
import { createTestApp, type TestApp } from "../../support/app";
import type { DbKind } from "../../support/db";
import { createBuilding, json, type TestBuilding } from "../../support/fixtures";
import { jpegWithGps } from "../../support/images";
import { type S3StandIn, startS3StandIn } from "../../support/s3-standin";

const COMBOS: Array<{ db: DbKind; storage: "filesystem" | "s3" }> = [
  { db: "pglite", storage: "filesystem" },
  { db: "pg", storage: "s3" },
];

describe.each(COMBOS)(
  "photo upload to processing to signed thumbnail on $db with $storage",
  ({ db, storage }) => {
    let t: TestApp;
    let s3: S3StandIn | undefined;
    let b: TestBuilding;

    beforeAll(async () => {
      if (storage === "s3") s3 = await startS3StandIn();
      t = await createTestApp({
        db,
        env: { RATE_LIMIT_ENABLED: "false", DOWNLOAD_URL_TTL_SECONDS: "2", ...(s3?.env ?? {}) },
      });
      b = await createBuilding(t.services);
    });
    afterAll(async () => {
      await t.close();
      await s3?.close();
    });

    const send = (url: string, init: RequestInit = {}) =>
      new URL(url).host === "localhost" ? t.app.request(url, init) : fetch(url, init);
    const call = async (method: string, path: string, auth: Record<string, string>, body?: unknown) => {
      const res = await t.request(
        `/api/v1/buildings/${b.id}${path}`,
        body === undefined ? { method, headers: auth } : { ...json(body, auth), method },
      );
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    };

    it("the manager sees the 300 px thumbnail of the resident's photo until its URL expires", async () => {
      const request = await call("POST", "/requests", b.resident.auth, {
        title: "Water stain on the ceiling",
      });
      const photo = await jpegWithGps(1200, 900);
      const created = await call("POST", "/uploads", b.resident.auth, {
        purpose: "maintenance_photo",
        contentType: "image/jpeg",
        size: photo.length,
        fileName: "IMG_2041.JPG",
        attachTo: { type: "maintenance_request", id: request.body.id },
      });
      expect(created.status).toBe(201);
      const put = created.body.upload.request;
      expect(
        (await send(put.url, { method: "PUT", headers: put.headers, body: new Uint8Array(photo) })).status,
      ).toBe(200);
      const id = created.body.file.id;
      expect((await call("POST", `/uploads/${id}/complete`, b.resident.auth)).status).toBe(200);

      const [event] = (
        await t.services.database.db.select().from(outbox).where(eq(outbox.topic, "files.uploaded"))
      ).filter((e) => (e.payload as { fileId: string }).fileId === id);
      expect(await createOutboxConsumer(t.services).deliver(event!.id)).toMatchObject({
        status: "ok",
      });

      const file = await call("GET", `/files/${id}`, b.manager.auth);
      expect(file.body).toMatchObject({ status: "ready", width: 1200, height: 900 });
      const thumb = await send(file.body.urls.thumb_300.url);
      expect(thumb.status).toBe(200);
      const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
      expect(meta.format).toBe("webp");
      expect(Math.max(meta.width!, meta.height!)).toBe(300);
      expect(meta.exif).toBeUndefined();
      const request2 = await call("GET", `/requests/${request.body.id}`, b.manager.auth);
      expect(request2.body.attachments).toEqual([expect.objectContaining({ id, status: "ready" })]);

      await new Promise((r) => setTimeout(r, 3_200));
      expect((await send(file.body.urls.thumb_300.url)).status).toBe(403);
    });
  },
);
