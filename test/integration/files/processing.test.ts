/**
 * The `files.uploaded` handler on the real app: uploads go through the API to presigned URLs
 * (filesystem storage served by the app; S3 through the SigV4-checking proxy in front of s3rver),
 * complete records the event, the in-process queue runs the handler, which reads quarantine/,
 * sniffs, scans with a real clamd (test signatures: EICAR), runs sharp and promotes. Then the
 * manager reads the 300 px thumbnail through its signed URL. Refusals (type mismatch, executable,
 * bomb, truncated JPEG, malware) and a crash mid-file are checked on the same stack.
 */
import { and, eq, sql } from "drizzle-orm";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLogs, outbox, storedFiles } from "../../../src/db/schema";
import { fileKeys } from "../../../src/modules/files/contract";
import { processUpload } from "../../../src/modules/files/processing";
import type { OutboxHandlerContext } from "../../../src/modules/outbox/registry";
import type { InProcessQueue } from "../../../src/platform/queue/in-process";
import type { ObjectStorage } from "../../../src/platform/storage";
import type { Services } from "../../../src/services";
import { startInProcessQueue } from "../../../workers/outbox-queue";
import { createTestApp, type TestApp } from "../../support/app";
import { type ClamdHandle, EICAR, startClamd } from "../../support/clamd";
import type { DbKind } from "../../support/db";
import { createBuilding, json, type TestBuilding, type TestUser } from "../../support/fixtures";
import {
  jpegCarryingEicar,
  jpegWithGps,
  pdf,
  pngBomb,
  readExif,
  sidewaysPhoto,
  truncatedJpeg,
} from "../../support/images";
import { freePort } from "../../support/net";
import { type S3StandIn, startS3StandIn } from "../../support/s3-standin";
import { waitFor } from "../../support/wait";
// Registers the files.uploaded handler as workers/node-handlers.ts does on the Bun/Node hosts.
import "../../../src/modules/files/node-handlers";

type Json = Record<string, any>;

const COMBOS: Array<{ db: DbKind; storage: "filesystem" | "s3" }> = [
  { db: "pglite", storage: "filesystem" },
  { db: "pg", storage: "s3" },
];

let clamd: ClamdHandle;
beforeAll(async () => {
  clamd = await startClamd();
});
afterAll(async () => {
  await clamd?.stop();
});

/** The context the outbox consumer gives a handler, for driving processUpload directly. */
function handlerContext(services: Services, override: Partial<Services> = {}): OutboxHandlerContext {
  const s = { ...services, ...override };
  const job = { kind: "system", name: "outbox-dispatcher" } as const;
  return {
    services: s,
    db: s.database.db,
    actor: job,
    membership: null,
    correlationId: "test-processing",
    ip: "",
    userAgent: "test",
    now: new Date(),
    job,
    event: {
      id: crypto.randomUUID(),
      topic: "files.uploaded",
      buildingId: null,
      payload: {},
      correlationId: "c",
      attempts: 1,
      createdAt: new Date(),
    },
  };
}

describe.each(COMBOS)("processing on $db with $storage storage and clamd", ({ db, storage: kind }) => {
  let t: TestApp;
  let s3: S3StandIn | undefined;
  let b: TestBuilding;
  let queue: InProcessQueue | undefined;

  beforeAll(async () => {
    if (kind === "s3") s3 = await startS3StandIn();
    t = await createTestApp({
      db,
      env: {
        RATE_LIMIT_ENABLED: "false",
        CLAMD_HOST: clamd.host,
        CLAMD_PORT: String(clamd.port),
        CLAMD_TIMEOUT_MS: "20000",
        OUTBOX_POLL_MS: "100",
        ...(s3?.env ?? {}),
      },
    });
    b = await createBuilding(t.services);
    queue = startInProcessQueue(t.services, { pollMs: 100 });
  });
  afterAll(async () => {
    await queue?.close();
    await t.close();
    await s3?.close();
  });

  const api = (path: string) => `/api/v1/buildings/${b.id}${path}`;
  const call = async (method: string, path: string, user: TestUser, body?: unknown) => {
    const init: RequestInit =
      body === undefined ? { method, headers: user.auth } : { ...json(body, user.auth), method };
    const res = await t.request(path, init);
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as Json };
  };
  const send = (url: string, init: RequestInit = {}) =>
    new URL(url).host === "localhost" ? t.app.request(url, init) : fetch(url, init);

  /** Upload through the API (presigned PUT) and complete; answers the file id. */
  async function upload(
    user: TestUser,
    data: Uint8Array,
    contentType: string,
    extra: Json = {},
    purpose = contentType === "application/pdf" ? "document" : "maintenance_photo",
  ): Promise<string> {
    const created = await call("POST", api("/uploads"), user, {
      purpose,
      contentType,
      size: data.byteLength,
      ...extra,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const req = created.body.upload.request;
    const put = await send(req.url, { method: "PUT", headers: req.headers, body: Buffer.from(data) });
    expect(put.status).toBe(200);
    const done = await call("POST", api(`/uploads/${created.body.file.id}/complete`), user);
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    return created.body.file.id as string;
  }

  const row = async (id: string) =>
    (await t.services.database.db.select().from(storedFiles).where(eq(storedFiles.id, id)))[0]!;
  const settled = (id: string) =>
    waitFor(
      `file ${id} to leave processing`,
      async () => {
        const r = await row(id);
        return r.status !== "uploaded" && r.status !== "processing" ? r : null;
      },
      60_000,
      50,
    );
  /** The quarantined object goes right after the status commits (the status is the commit point). */
  const gone = (key: string) =>
    waitFor(`${key} to be deleted`, async () => (await t.services.storage!.head(key)) === null, 10_000, 20);
  const roomFrames = async (fileId: string) =>
    (
      await t.services.database.db
        .select({ payload: outbox.payload })
        .from(outbox)
        .where(
          and(eq(outbox.topic, "realtime.event"), sql`${outbox.payload}->'event'->>'fileId' = ${fileId}`),
        )
    ).map((r) => (r.payload as Json).event);

  it("a resident's phone photo becomes ready: GPS gone, upright, thumbnails promoted, quarantine emptied; the manager reads the 300 px thumbnail through its signed URL", async () => {
    const request = await call("POST", api("/requests"), b.resident, { title: "Crack in the wall" });
    expect(request.status).toBe(201);
    const photo = await jpegWithGps(1200, 900);
    const fileId = await upload(b.resident, photo, "image/jpeg", {
      fileName: "IMG_2041.jpg",
      attachTo: { type: "maintenance_request", id: request.body.id },
    });
    const done = await settled(fileId);
    expect(done.status, done.rejectionReason ?? "").toBe("ready");
    expect([done.width, done.height]).toEqual([1200, 900]);
    expect(Object.keys(done.variants ?? {}).sort()).toEqual([
      "original",
      "thumb_150",
      "thumb_300",
      "thumb_600",
    ]);
    expect(done.finalKey).toBe(fileKeys.final(b.id, fileId, "original", "webp"));
    const storage = t.services.storage!;
    await gone(done.quarantineKey);
    expect((await storage.list(fileKeys.finalPrefix(b.id, fileId))).length).toBe(4);
    expect(await roomFrames(fileId)).toEqual([
      { kind: "file.processed", fileId, uploadedBy: b.resident.id, status: "ready" },
    ]);

    const read = await call("GET", api(`/files/${fileId}`), b.manager);
    expect(read.status).toBe(200);
    const thumb = await send(read.body.urls.thumb_300.url);
    expect(thumb.status).toBe(200);
    expect(thumb.headers.get("content-type")).toBe("image/webp");
    const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(["webp", 300, 225]);
    const original = Buffer.from(await (await send(read.body.urls.original.url)).arrayBuffer());
    expect(original.byteLength).toBeLessThan(photo.byteLength);
    expect(readExif((await sharp(original).metadata()).exif).gpsTags).toEqual([]);
  });

  it("a sideways phone photo is stored upright (dimensions swapped)", async () => {
    const id = await upload(b.resident, await sidewaysPhoto(640, 320), "image/jpeg");
    const done = await settled(id);
    expect(done.status).toBe("ready");
    expect([done.width, done.height]).toEqual([320, 640]);
    expect(done.variants?.thumb_150).toMatchObject({ width: 75, height: 150 });
  });

  it("a PDF document is scanned and promoted as uploaded, without renditions", async () => {
    const doc = pdf();
    const id = await upload(b.manager, doc, "application/pdf", { fileName: "minutes.pdf" });
    const done = await settled(id);
    expect(done.status).toBe("ready");
    expect(done.variants).toEqual({});
    const stored = await t.services.storage!.get(done.finalKey!);
    expect(Buffer.from(stored!).equals(doc)).toBe(true);
    await gone(done.quarantineKey);
  });

  it("uploaded → scanned → infected → deleted: EICAR inside a valid JPEG and inside a valid PDF, audited, the uploader notified and told in the room", async () => {
    for (const [data, type] of [
      [await jpegCarryingEicar(), "image/jpeg"],
      [pdf(EICAR), "application/pdf"],
    ] as const) {
      const id = await upload(b.resident, data, type);
      const done = await settled(id);
      expect(done.status).toBe("infected");
      expect(done.rejectionReason).toMatch(/^malware: .*Eicar/i);
      expect(done.finalKey).toBeNull();
      await gone(done.quarantineKey);
      expect(await t.services.storage!.list(fileKeys.finalPrefix(b.id, id))).toEqual([]);
      const audit = await t.services.database.db
        .select()
        .from(auditLogs)
        .where(and(eq(auditLogs.action, "file.infected"), eq(auditLogs.entityId, id)));
      expect(audit).toHaveLength(1);
      expect((audit[0]!.changes as Json).malware).toMatch(/Eicar/i);
      const notices = await t.services.database.db
        .select({ payload: outbox.payload })
        .from(outbox)
        .where(
          and(eq(outbox.topic, "notifications.direct"), sql`${outbox.payload}->'data'->>'fileId' = ${id}`),
        );
      expect(notices).toHaveLength(1);
      expect((notices[0]!.payload as Json).to).toEqual({ userIds: [b.resident.id] });
      expect(await roomFrames(id)).toEqual([
        { kind: "file.processed", fileId: id, uploadedBy: b.resident.id, status: "infected" },
      ]);
      const read = await call("GET", api(`/files/${id}`), b.resident);
      expect(read.body.urls).toEqual({});
    }
  });

  it("refuses what is not what it claims, bombs and broken images: rejected, object deleted, nothing promoted", async () => {
    const elf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]), Buffer.alloc(200)]);
    const cases: Array<[Uint8Array, string, RegExp]> = [
      [EICAR, "image/jpeg", /^type_mismatch: declared image\/jpeg, content is unknown/],
      [pdf(), "image/jpeg", /^type_mismatch: declared image\/jpeg, content is application\/pdf/],
      [elf, "image/png", /^dangerous: elf-executable/],
      [pngBomb(20_000), "image/png", /^image_too_many_pixels$/],
      [await truncatedJpeg(0.5), "image/jpeg", /^image_corrupt$/],
    ];
    for (const [data, type, reason] of cases) {
      const id = await upload(b.resident, data, type);
      const done = await settled(id);
      expect(done.status, `${type}: ${done.rejectionReason}`).toBe("rejected");
      expect(done.rejectionReason).toMatch(reason);
      await gone(done.quarantineKey);
      expect(await t.services.storage!.list(fileKeys.finalPrefix(b.id, id))).toEqual([]);
      expect(await roomFrames(id)).toEqual([
        { kind: "file.processed", fileId: id, uploadedBy: b.resident.id, status: "rejected" },
      ]);
    }
    const dangerous = await t.services.database.db
      .select()
      .from(auditLogs)
      .where(eq(auditLogs.action, "file.rejected"));
    expect(dangerous.some((a) => (a.changes as Json).reason?.startsWith("dangerous"))).toBe(true);
  });

  it("a declared SHA-256 that does not match the bytes is rejected", async () => {
    const photo = await jpegWithGps(200, 150);
    const id = await upload(b.resident, photo, "image/jpeg", { sha256: "0".repeat(64) });
    const done = await settled(id);
    expect([done.status, done.rejectionReason]).toEqual(["rejected", "sha256_mismatch"]);
  });

  describe("crash safety (the handler driven directly)", () => {
    let queueStopped = false;
    beforeAll(async () => {
      await queue?.close();
      queue = undefined;
      delete t.services.queue;
      queueStopped = true;
    });

    it("a crash while writing renditions leaves the file processing, never ready; the retry finishes it; a third run changes nothing", async () => {
      expect(queueStopped).toBe(true);
      const id = await upload(b.resident, await jpegWithGps(800, 600), "image/jpeg");
      const real = t.services.storage!;
      // The real adapter with one failure injected: the 600 px thumbnail's write dies.
      const crashing: ObjectStorage = {
        ...real,
        kind: real.kind,
        multipart: real.multipart,
        put: async (key, body, opts) => {
          if (key.includes("thumb_600")) throw new Error("simulated crash mid-file");
          return real.put(key, body, opts);
        },
        get: (key) => real.get(key),
        head: (key) => real.head(key),
        delete: (keys) => real.delete(keys),
        copy: (a, c) => real.copy(a, c),
        list: (p, o) => real.list(p, o),
        presignPut: (a) => real.presignPut(a),
        presignGet: (a) => real.presignGet(a),
        check: () => real.check(),
      };
      await expect(processUpload(handlerContext(t.services, { storage: crashing }), id)).rejects.toThrow(
        /simulated crash/,
      );
      const mid = await row(id);
      expect(mid.status).toBe("processing");
      expect(mid.variants).toBeNull();
      expect(await real.head(mid.quarantineKey)).not.toBeNull(); // kept for the retry
      const read = await call("GET", api(`/files/${id}`), b.resident);
      expect(read.body.urls).toEqual({});

      const retry = await processUpload(handlerContext(t.services), id);
      expect(retry.status).toBe("ready");
      const done = await row(id);
      expect(done.status).toBe("ready");
      expect(Object.keys(done.variants ?? {}).sort()).toEqual([
        "original",
        "thumb_150",
        "thumb_300",
        "thumb_600",
      ]);
      for (const v of Object.values(done.variants ?? {})) expect(await real.head(v!.key)).not.toBeNull();
      expect(await real.head(done.quarantineKey)).toBeNull();

      const again = await processUpload(handlerContext(t.services), id);
      expect(again).toEqual({ status: "skipped", why: "already ready" });
      expect((await row(id)).variants).toEqual(done.variants);
      expect(await roomFrames(id)).toHaveLength(1);
    });

    it("clamd unreachable: the handler throws for a retry and the file stays processing; with clamd back it is scanned and ready", async () => {
      const id = await upload(b.resident, pdf(), "application/pdf");
      const { createClamdScanner } = await import("../../../src/platform/scan/clamd");
      const down = createClamdScanner({ host: "127.0.0.1", port: await freePort(), timeoutMs: 2_000 });
      await expect(processUpload(handlerContext(t.services, { scanner: down }), id)).rejects.toMatchObject({
        name: "ScanError",
        kind: "connection",
      });
      expect((await row(id)).status).toBe("processing");
      expect((await processUpload(handlerContext(t.services), id)).status).toBe("ready");
    });

    it("a file deleted while it waited is skipped and its quarantined object removed", async () => {
      const id = await upload(b.resident, pdf(), "application/pdf");
      await t.services.database.db
        .update(storedFiles)
        .set({ deletedAt: new Date() })
        .where(eq(storedFiles.id, id));
      expect(await processUpload(handlerContext(t.services), id)).toEqual({
        status: "skipped",
        why: "the file is gone",
      });
      expect(await t.services.storage!.head((await row(id)).quarantineKey)).toBeNull();
    });
  });
});
