import { z } from "@hono/zod-openapi";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { Timestamp } from "../../buildings/common";
import { listUploadParts } from "../verbs";
import { NoStore, UploadParams } from "./common";

const UploadProgressSchema = z
  .object({
    partSize: z.number().int(),
    partCount: z.number().int(),
    expiresAt: Timestamp,
    uploadedBytes: z.number().int(),
    parts: z.array(z.object({ partNumber: z.number().int(), size: z.number().int(), etag: z.string() })),
  })
  .openapi("UploadProgress");

const route = defineRoute({
  method: "get",
  operationId: "listUploadParts",
  path: "/buildings/{buildingId}/uploads/{uploadId}/parts",
  tags: ["Files"],
  summary: "Parts of your multipart upload that storage holds (resume after a restart)",
  access: "member",
  request: { params: UploadParams },
  responses: { 200: jsonContent(UploadProgressSchema, "Progress of the upload") },
  errors: [404, 409, 410, 503],
});

export function registerListUploadParts(app: App) {
  app.openapi(route, async (c) => {
    const { buildingId, uploadId } = c.req.valid("param");
    const progress = await listUploadParts({ ctx: verbContext(c), buildingId, fileId: uploadId });
    return c.json({ ...progress, expiresAt: progress.expiresAt.toISOString() }, 200, {
      "Cache-Control": NoStore,
    });
  });
}
