/**
 * Whether a config asks for S3/R2 object storage, and the adapter options it gives. Imports no SDK:
 * the Bun/Node hosts read it before they decide to load one (./deferred.ts).
 */
import type { Config } from "../../config";
import type { S3StorageOptions } from "./s3";

export function wantsS3(config: Config): boolean {
  return config.STORAGE_DRIVER === "s3" || (!config.STORAGE_DRIVER && Boolean(config.S3_BUCKET));
}

export function s3StorageOptions(config: Config): S3StorageOptions {
  return {
    bucket: config.S3_BUCKET!,
    region: config.S3_REGION,
    ...(config.S3_ENDPOINT ? { endpoint: config.S3_ENDPOINT } : {}),
    accessKeyId: config.S3_ACCESS_KEY_ID!,
    secretAccessKey: config.S3_SECRET_ACCESS_KEY!,
    forcePathStyle: config.S3_FORCE_PATH_STYLE ?? Boolean(config.S3_ENDPOINT),
  };
}
