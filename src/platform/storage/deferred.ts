/**
 * Object storage whose adapter is loaded by its first call. The Bun/Node hosts build S3 storage
 * this way: @aws-sdk/client-s3 and the presigner are ~80 ms of module loading on Bun, which every
 * start and restart of a host that imported them paid, S3 configured or not (issue 19, Start).
 */
import type { Config } from "../../config";
import { loadOnce } from "../load-once";
import type { MultipartStorage, ObjectStorage } from "./index";
import { s3StorageOptions, wantsS3 } from "./s3-config";

/** The S3/R2 adapter of `config`, loaded by its first call; undefined when storage is not S3. */
export function deferredS3StorageFor(config: Config): ObjectStorage | undefined {
  if (!wantsS3(config)) return undefined;
  const options = s3StorageOptions(config);
  return deferredStorage("s3", () => import("./s3").then(({ S3Storage }) => new S3Storage(options)));
}

/**
 * Forwards every method of the port to the adapter `load` builds, once, at the first call. A load
 * that fails is tried again by the next call. Adapters that serve their own URLs (`serve`) cannot
 * be deferred: createApp asks for `serve` synchronously.
 */
export function deferredStorage(kind: string, load: () => Promise<ObjectStorage>): ObjectStorage {
  const adapter = loadOnce(load);
  const multipart = async () => (await adapter()).multipart;
  const deferredMultipart: MultipartStorage = {
    create: async (key, opts) => (await multipart()).create(key, opts),
    presignPart: async (args) => (await multipart()).presignPart(args),
    listParts: async (key, uploadId) => (await multipart()).listParts(key, uploadId),
    complete: async (key, uploadId, parts) => (await multipart()).complete(key, uploadId, parts),
    abort: async (key, uploadId) => (await multipart()).abort(key, uploadId),
  };
  return {
    kind,
    put: async (key, body, opts) => (await adapter()).put(key, body, opts),
    get: async (key) => (await adapter()).get(key),
    head: async (key) => (await adapter()).head(key),
    delete: async (keys) => (await adapter()).delete(keys),
    copy: async (from, to) => (await adapter()).copy(from, to),
    list: async (prefix, opts) => (await adapter()).list(prefix, opts),
    presignPut: async (args) => (await adapter()).presignPut(args),
    presignGet: async (args) => (await adapter()).presignGet(args),
    multipart: deferredMultipart,
    check: async () => (await adapter()).check(),
  };
}
