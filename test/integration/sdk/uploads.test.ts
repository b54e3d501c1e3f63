/**
 * @horizon/client/uploads against the real app (PGlite, filesystem storage whose signed URLs the
 * app serves): a small file in one PUT, a large one in parts with progress, a restart in the
 * middle of a multipart upload resumed from the plan kept in storage (only the missing parts are
 * sent), and a cancel that aborts on the server and forgets the upload.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHorizonClient } from "../../../src/client/index";
import { MemoryStorage } from "../../../src/client/storage/memory";
import { createUploader, type UploadProgress } from "../../../src/client/uploads/index";
import { createTestApp, type TestApp } from "../../support/app";
import { createBuilding, type TestBuilding } from "../../support/fixtures";
import { join, network, ORIGIN } from "./harness";

const MiB = 1024 * 1024;
const bytes = (n: number) => {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + 7) & 0xff;
  return out;
};

describe("SDK uploads", () => {
  let t: TestApp;
  let b: TestBuilding;
  beforeAll(async () => {
    t = await createTestApp({
      env: {
        RATE_LIMIT_ENABLED: "false",
        UPLOAD_MULTIPART_THRESHOLD_BYTES: String(5 * MiB),
        UPLOAD_PART_SIZE_BYTES: String(5 * MiB),
      },
    });
    b = await createBuilding(t.services);
  });
  afterAll(() => t.close());

  const member = async (storage = new MemoryStorage(), net = network(t)) => {
    const client = await createHorizonClient({
      url: ORIGIN,
      storage,
      fetch: net.fetch,
      retry: { baseMs: 1, maxMs: 5 },
    });
    const user = await client.auth.register({
      email: `up-${crypto.randomUUID().slice(0, 8)}@test.horizon`,
      password: "Correct-Horse-9-Battery!",
      name: "Uploader",
    });
    await join(t, b.id, user.id, "resident");
    return { client, storage, net };
  };
  const isPartPut = (r: Request) => r.method === "PUT" && !new URL(r.url).pathname.startsWith("/api/");

  it("uploads a small file in one PUT, reporting progress, and completes it", async () => {
    const { client } = await member();
    const seen: UploadProgress[] = [];
    const task = createUploader(client).start({
      buildingId: b.id,
      purpose: "maintenance_photo",
      contentType: "image/jpeg",
      fileName: "leak.jpg",
      data: bytes(4096),
      onProgress: (p) => seen.push(p),
    });
    const file = await task.done;
    expect(file).toMatchObject({ status: "uploaded", size: 4096, name: "leak.jpg" });
    expect(seen.at(-1)).toMatchObject({ loaded: 4096, total: 4096 });
  });

  it("sends a large file in parts with rising progress; a restart mid-way resumes with only the missing parts", async () => {
    const { client, storage, net } = await member();
    const data = bytes(11 * MiB);
    // The app dies after the first part landed: every later part PUT fails.
    let puts = 0;
    const counted = new WeakSet<Request>();
    const afterFirst = (r: Request) => {
      if (!isPartPut(r)) return false;
      if (!counted.has(r)) counted.add(r) && puts++;
      return puts > 1;
    };
    const dead = { match: afterFirst, fault: "drop" as const };
    for (let i = 0; i < 12; i++) net.faults.push(dead);
    const first = createUploader(client, { concurrency: 1, partAttempts: 1 }).start({
      buildingId: b.id,
      purpose: "document",
      contentType: "application/pdf",
      data,
    });
    await expect(first.done).rejects.toMatchObject({ code: "NETWORK_ERROR" });
    const fileId = first.fileId()!;
    net.faults.length = 0;

    // A new process over the same storage finds the plan and sends what storage lacks.
    const restarted = await createHorizonClient({ url: ORIGIN, storage, fetch: net.fetch });
    const uploads = createUploader(restarted);
    expect((await uploads.pending([fileId])).map((u) => u.fileId)).toEqual([fileId]);
    const before = net.seen.filter((s) => s.method === "PUT" && !s.path.startsWith("/api/")).length;
    const seen: number[] = [];
    const file = await uploads.resume(fileId, data, (p) => seen.push(p.loaded)).done;
    const sent = net.seen.filter((s) => s.method === "PUT" && !s.path.startsWith("/api/")).length - before;
    expect(file).toMatchObject({ id: fileId, status: "uploaded", size: 11 * MiB });
    expect(sent).toBe(2); // parts 2 and 3 of 3
    expect(seen[0]).toBe(5 * MiB);
    expect(seen.at(-1)).toBe(11 * MiB);
    expect([...seen].sort((x, y) => x - y)).toEqual(seen);
    expect(await uploads.pending([fileId])).toEqual([]);
  });

  it("cancel stops the transfer, aborts the upload on the server and forgets it", async () => {
    const { client, net } = await member();
    const uploads = createUploader(client, { concurrency: 1 });
    let task: ReturnType<typeof uploads.start> | null = null;
    let cancelled: Promise<void> | null = null;
    const task0 = uploads.start({
      buildingId: b.id,
      purpose: "document",
      contentType: "application/pdf",
      data: bytes(11 * MiB),
      onProgress: (p) => {
        if (p.loaded > 0 && !cancelled) cancelled = task!.cancel();
      },
    });
    task = task0;
    await expect(task0.done).rejects.toMatchObject({ code: "UPLOAD_CANCELLED" });
    await cancelled;
    const fileId = task0.fileId()!;
    expect(await uploads.pending([fileId])).toEqual([]);
    expect(
      net.seen.some((s) => s.method === "DELETE" && s.path.endsWith(`/uploads/${fileId}`) && s.status < 300),
    ).toBe(true);
    const parts = await client.api.GET("/api/v1/buildings/{buildingId}/uploads/{uploadId}/parts", {
      params: { path: { buildingId: b.id, uploadId: fileId } },
    });
    expect(parts.response.status).toBeGreaterThanOrEqual(400);
  });
});
