/** Route helpers of the files module. */
import type { Context } from "hono";
import type { AppEnv } from "../../../http/env";
import { BuildingParams, uuidParam } from "../../buildings/common";
import type { SignedRequest } from "../verbs";

export const UploadParams = BuildingParams.extend({ uploadId: uuidParam("uploadId") });
export const FileParams = BuildingParams.extend({ fileId: uuidParam("fileId") });

/**
 * Signed URLs as clients receive them: absolute. The filesystem adapter signs paths of this very
 * app (unless STORAGE_PUBLIC_URL says where it is reachable), so they resolve against the URL the
 * API was called on.
 */
export const absolute = (c: Context<AppEnv>, url: string) => new URL(url, c.req.url).toString();

export function toSigned(c: Context<AppEnv>, r: SignedRequest) {
  return {
    method: r.method,
    url: absolute(c, r.url),
    headers: r.headers,
    expiresAt: r.expiresAt.toISOString(),
  };
}

export const NoStore = "private, no-store";
