/**
 * The S3/R2 adapter from config, or undefined when object storage is not S3. Edge-safe (the Worker
 * calls it); the Bun/Node hosts fall back to the filesystem adapter (workers/node-services.ts).
 */
import type { Config } from "../../config";
import { S3Storage } from "./s3";

export function wantsS3(config: Config): boolean {
  return config.STORAGE_DRIVER === "s3" || (!config.STORAGE_DRIVER && Boolean(config.S3_BUCKET));
}

export function s3StorageFor(config: Config): S3Storage | undefined {
  if (!wantsS3(config)) return undefined;
  return new S3Storage({
    bucket: config.S3_BUCKET!,
    region: config.S3_REGION,
    ...(config.S3_ENDPOINT ? { endpoint: config.S3_ENDPOINT } : {}),
    accessKeyId: config.S3_ACCESS_KEY_ID!,
    secretAccessKey: config.S3_SECRET_ACCESS_KEY!,
    forcePathStyle: config.S3_FORCE_PATH_STYLE ?? Boolean(config.S3_ENDPOINT),
  });
}
