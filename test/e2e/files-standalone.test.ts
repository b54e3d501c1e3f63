/**
 * "Done when" of issue 18 on the host `npm start` runs (Bun, PGlite, filesystem storage) with a
 * real clamd configured: a resident uploads a photo to their maintenance request, the in-process
 * queue scans and processes it, the resident's room gets `file.processed`, and the manager reads
 * the 300 px thumbnail through a signed URL that stops working after its expiry. An upload
 * carrying EICAR is found by clamd, deleted, and announced as infected.
 */
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BunHost, startBunHost } from "../integration/realtime/bun-host";
import { openRoom, roomToken } from "../integration/realtime/harness";
import { type ClamdHandle, startClamd } from "../support/clamd";
import type { TestUser } from "../support/fixtures";
import { jpegCarryingEicar, jpegWithGps, readExif } from "../support/images";
import { waitFor } from "../support/wait";

type Json = Record<string, any>;

describe("files on the standalone host under Bun, with clamd", () => {
  let clamd: ClamdHandle;
  let host: BunHost;
  let base: string;

  beforeAll(async () => {
    clamd = await startClamd();
    host = await startBunHost(
      {
        CLAMD_HOST: clamd.host,
        CLAMD_PORT: String(clamd.port),
        DOWNLOAD_URL_TTL_SECONDS: "3",
        OUTBOX_POLL_MS: "200",
      },
      { readyTimeoutMs: 200_000 },
    );
    base = host.base;
  }, 240_000);
  afterAll(async () => {
    await host?.stop();
    await clamd?.stop();
  });

  const signIn = (email: string): Promise<TestUser> => host.signIn(email);
  const call = async (method: string, path: string, user: TestUser, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { ...user.auth, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as Json };
  };

  it("a resident's photo is scanned, processed and announced; the manager's 300 px thumbnail URL works until it expires; EICAR is found and deleted", async () => {
    const buildingId = host.buildingId;
    const api = `/api/v1/buildings/${buildingId}`;
    const manager = await signIn("manager@demo.horizon.example");
    const resident = await signIn("noa@demo.horizon.example");
    const room = await openRoom(
      `ws://127.0.0.1:${new URL(base).port}/parties/building/${buildingId}?token=${await roomToken(base, resident, buildingId, "phone")}`,
    );
    await room.next("welcome");

    const request = await call("POST", `${api}/requests`, resident, { title: "Water stain on the ceiling" });
    expect(request.status).toBe(201);
    const upload = async (data: Buffer, fileName: string) => {
      const created = await call("POST", `${api}/uploads`, resident, {
        purpose: "maintenance_photo",
        contentType: "image/jpeg",
        size: data.byteLength,
        fileName,
        attachTo: { type: "maintenance_request", id: request.body.id },
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const req = created.body.upload.request;
      const put = await fetch(req.url, { method: "PUT", headers: req.headers, body: new Uint8Array(data) });
      expect(put.status).toBe(200);
      const done = await call("POST", `${api}/uploads/${created.body.file.id}/complete`, resident);
      expect(done.status, JSON.stringify(done.body)).toBe(200);
      return created.body.file.id as string;
    };

    const photo = await jpegWithGps(2000, 1500);
    const fileId = await upload(photo, "IMG_0420.jpg");
    const ready = await room.next(
      "event",
      (f) => f.event.kind === "file.processed" && f.event.fileId === fileId,
      60_000,
    );
    expect(ready.event).toMatchObject({ kind: "file.processed", status: "ready" });

    const read = await call("GET", `${api}/files/${fileId}`, manager);
    expect(read.status).toBe(200);
    expect(read.body.status).toBe("ready");
    const thumbUrl = read.body.urls.thumb_300.url as string;
    expect(thumbUrl).not.toContain("quarantine");
    const thumb = await fetch(thumbUrl);
    expect(thumb.status).toBe(200);
    const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(["webp", 300, 225]);
    const original = Buffer.from(await (await fetch(read.body.urls.original.url)).arrayBuffer());
    expect(readExif((await sharp(original).metadata()).exif).gpsTags).toEqual([]);
    await waitFor(
      "the thumbnail URL to expire",
      async () => (await fetch(thumbUrl)).status === 403,
      15_000,
      500,
    );

    const infectedId = await upload(await jpegCarryingEicar(), "innocent.jpg");
    const infected = await room.next(
      "event",
      (f) => f.event.kind === "file.processed" && f.event.fileId === infectedId,
      60_000,
    );
    expect(infected.event).toMatchObject({ status: "infected" });
    const gone = await call("GET", `${api}/files/${infectedId}`, resident);
    expect(gone.body).toMatchObject({ status: "infected", urls: {} });
    room.close();
  }, 240_000);
});
