/**
 * Uploads straight to object storage (`@horizon/client/uploads`): the API signs, the bytes go to
 * the presigned URLs. Above the server's threshold the server answers with a multipart plan and
 * the parts go up a few at a time; progress is reported as bytes land (per part: fetch has no
 * upload progress). The plan is kept in the client's storage, so after an app restart
 * `resume(fileId, data)` asks the server which parts storage already holds and sends only the
 * rest. `cancel()` stops the transfers, aborts the upload on the server and forgets it.
 */
import type { components } from "../api/schema";
import type { HorizonClient } from "../client";
import { HorizonError } from "../errors";

export type FileRecord = components["schemas"]["File"];
type CreateUpload = components["schemas"]["CreateUpload"];
type Instructions = components["schemas"]["UploadInstructions"];
type SignedRequest = components["schemas"]["SignedRequest"];

export type UploadData = Uint8Array | ArrayBuffer | Blob;

export interface UploadProgress {
  fileId: string;
  loaded: number;
  total: number;
}

export interface StartUpload extends Omit<CreateUpload, "size"> {
  buildingId: string;
  data: UploadData;
  onProgress?: (p: UploadProgress) => void;
}

/** What is kept in storage while an upload is unfinished. */
export interface PersistedUpload {
  fileId: string;
  buildingId: string;
  size: number;
  contentType: string;
  fileName?: string;
  plan: Instructions;
  startedAt: number;
}

export interface UploadTask {
  /** Resolves with the file (status `uploaded`) once storage has the bytes and the server completed it. */
  readonly done: Promise<FileRecord>;
  /** Known once the server accepted the upload. */
  fileId(): string | null;
  /** Stops the transfer, aborts the upload on the server and forgets it (done rejects with UPLOAD_CANCELLED). */
  cancel(): Promise<void>;
}

export interface UploaderOptions {
  /** Parts in flight at once. Default 3. */
  concurrency?: number;
  /** Attempts per part PUT (a dropped connection, 5xx). Default 3. */
  partAttempts?: number;
}

const bytesOf = async (data: UploadData): Promise<Uint8Array> =>
  data instanceof Uint8Array
    ? data
    : data instanceof ArrayBuffer
      ? new Uint8Array(data)
      : new Uint8Array(await data.arrayBuffer());

export class Uploader {
  private readonly prefix: string;

  constructor(
    private readonly horizon: HorizonClient,
    private readonly options: UploaderOptions = {},
  ) {
    this.prefix = "horizon:uploads:";
  }

  private key(fileId: string) {
    return `${this.prefix}${fileId}`;
  }

  /** Starts an upload; progress through `onProgress`, the result through `task.done`. */
  start(input: StartUpload): UploadTask {
    const { data, onProgress, buildingId, ...meta } = input;
    const ctl = new AbortController();
    let fileId: string | null = null;
    const done = (async () => {
      const bytes = await bytesOf(data);
      const created = await this.horizon.data(
        this.horizon.api.POST("/api/v1/buildings/{buildingId}/uploads", {
          params: { path: { buildingId } },
          body: { ...meta, size: bytes.byteLength },
        }),
      );
      fileId = created.file.id;
      const state: PersistedUpload = {
        fileId,
        buildingId,
        size: bytes.byteLength,
        contentType: meta.contentType,
        ...(meta.fileName ? { fileName: meta.fileName } : {}),
        plan: created.upload,
        startedAt: Date.now(),
      };
      await this.horizon.storage.setItem(this.key(fileId), JSON.stringify(state));
      return this.transfer(state, bytes, ctl.signal, onProgress);
    })();
    return this.task(done, () => fileId, ctl);
  }

  /** Unfinished uploads kept in storage (after a restart: resume or cancel each). */
  async pending(ids: string[]): Promise<PersistedUpload[]> {
    const out: PersistedUpload[] = [];
    for (const id of ids) {
      const text = await this.horizon.storage.getItem(this.key(id));
      if (text) out.push(JSON.parse(text) as PersistedUpload);
    }
    return out;
  }

  /** Continues an upload after a restart: only the parts storage does not hold yet are sent. */
  resume(fileId: string, data: UploadData, onProgress?: (p: UploadProgress) => void): UploadTask {
    const ctl = new AbortController();
    const done = (async () => {
      const text = await this.horizon.storage.getItem(this.key(fileId));
      if (!text) throw new HorizonError("NOT_FOUND", `no unfinished upload ${fileId} in this storage`, 404);
      const state = JSON.parse(text) as PersistedUpload;
      const bytes = await bytesOf(data);
      if (bytes.byteLength !== state.size)
        throw new HorizonError(
          "BAD_REQUEST",
          `upload ${fileId} is ${state.size} bytes, got ${bytes.byteLength}`,
        );
      return this.transfer(state, bytes, ctl.signal, onProgress);
    })();
    return this.task(done, () => fileId, ctl);
  }

  private task(done: Promise<FileRecord>, fileId: () => string | null, ctl: AbortController): UploadTask {
    let cancelled = false;
    const settled = done.catch((err) => {
      throw cancelled
        ? new HorizonError("UPLOAD_CANCELLED", "upload cancelled", 0, null, undefined, { cause: err })
        : err;
    });
    settled.catch(() => {});
    return {
      done: settled,
      fileId,
      cancel: async () => {
        cancelled = true;
        ctl.abort();
        await done.catch(() => {});
        const id = fileId();
        if (!id) return;
        await this.horizon.api
          .DELETE("/api/v1/buildings/{buildingId}/uploads/{uploadId}", {
            params: { path: { buildingId: await this.buildingOf(id), uploadId: id } },
          })
          .catch(() => {});
        await this.horizon.storage.removeItem(this.key(id));
      },
    };
  }

  private async buildingOf(fileId: string): Promise<string> {
    const text = await this.horizon.storage.getItem(this.key(fileId));
    return text ? (JSON.parse(text) as PersistedUpload).buildingId : "";
  }

  private async transfer(
    state: PersistedUpload,
    bytes: Uint8Array,
    signal: AbortSignal,
    onProgress?: (p: UploadProgress) => void,
  ): Promise<FileRecord> {
    const { fileId, buildingId } = state;
    const report = (loaded: number) => onProgress?.({ fileId, loaded, total: state.size });
    const path = { buildingId, uploadId: fileId };
    if (state.plan.kind === "single") {
      report(0);
      await this.put(state.plan.request, bytes, signal);
      report(state.size);
    } else {
      const { partSize, partCount } = state.plan;
      // Storage may hold parts already (a resume): ask, and send the rest.
      const progress = await this.horizon.data(
        this.horizon.api.GET("/api/v1/buildings/{buildingId}/uploads/{uploadId}/parts", { params: { path } }),
      );
      const have = new Set((progress.parts ?? []).map((p) => p.partNumber));
      let loaded = (progress.parts ?? []).reduce((n, p) => n + (p.size ?? 0), 0);
      report(loaded);
      const missing = Array.from({ length: partCount }, (_, i) => i + 1).filter((n) => !have.has(n));
      const queue = [...missing];
      const worker = async () => {
        for (let n = queue.shift(); n !== undefined; n = queue.shift()) {
          if (signal.aborted) throw signal.reason;
          // Part URLs are signed on demand: they stay fresh however long the upload takes.
          const { parts } = await this.horizon.data(
            this.horizon.api.POST("/api/v1/buildings/{buildingId}/uploads/{uploadId}/parts", {
              params: { path },
              body: { partNumbers: [n] },
            }),
          );
          const part = parts[0]!;
          const from = (n - 1) * partSize;
          await this.put(part, bytes.subarray(from, Math.min(from + partSize, state.size)), signal);
          loaded += part.size;
          report(loaded);
        }
      };
      await Promise.all(
        Array.from({ length: Math.min(this.options.concurrency ?? 3, missing.length) }, worker),
      );
    }
    if (signal.aborted) throw signal.reason;
    const file = await this.horizon.data(
      this.horizon.api.POST("/api/v1/buildings/{buildingId}/uploads/{uploadId}/complete", {
        params: { path },
      }),
    );
    await this.horizon.storage.removeItem(this.key(fileId));
    return file;
  }

  /** PUTs bytes to a presigned URL with exactly its signed headers; retries a dropped connection or 5xx. */
  private async put(req: SignedRequest, body: Uint8Array, signal: AbortSignal): Promise<void> {
    const attempts = this.options.partAttempts ?? 3;
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await this.horizon.rawFetch(req.url, {
          method: "PUT",
          headers: req.headers,
          body: body as Uint8Array<ArrayBuffer>,
          signal,
        });
        if (res.ok) {
          await res.body?.cancel().catch(() => {});
          return;
        }
        const err = await HorizonError.from(res);
        if (res.status < 500 || attempt >= attempts) throw err;
      } catch (err) {
        if (signal.aborted || err instanceof HorizonError || attempt >= attempts)
          throw err instanceof HorizonError || signal.aborted
            ? err
            : new HorizonError(
                "NETWORK_ERROR",
                `upload interrupted: ${(err as Error)?.message ?? err}`,
                0,
                null,
                undefined,
                {
                  cause: err,
                },
              );
      }
      await new Promise((r) => setTimeout(r, 200 * 2 ** (attempt - 1)));
    }
  }
}

/** Uploads for a client: `const uploads = createUploader(horizon); uploads.start({...})`. */
export function createUploader(horizon: HorizonClient, options?: UploaderOptions): Uploader {
  return new Uploader(horizon, options);
}
