/**
 * The S3/R2 adapter from config, or undefined when object storage is not S3. Edge-safe: the Worker
 * calls it, and imports the adapter statically so its bundle keeps only the S3 commands it uses.
 * The Bun/Node hosts build theirs through ./deferred.ts (the SDK loaded by the first call) and fall
 * back to the filesystem adapter (workers/node-services.ts).
 */
import type { Config } from "../../config";
import { S3Storage } from "./s3";
import { s3StorageOptions, wantsS3 } from "./s3-config";

export { wantsS3 };

export function s3StorageFor(config: Config): S3Storage | undefined {
  return wantsS3(config) ? new S3Storage(s3StorageOptions(config)) : undefined;
}
