import { z } from "@hono/zod-openapi";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { PartUrlSchema } from "../schemas";
import { presignParts } from "../verbs";
import { NoStore, toSigned, UploadParams } from "./common";

const PresignPartsSchema = z
  .strictObject({
    partNumbers: z.array(z.number().int().min(1).max(10_000)).min(1).max(100),
  })
  .openapi("PresignUploadParts");

const route = defineRoute({
  method: "post",
  operationId: "presignUploadParts",
  path: "/buildings/{buildingId}/uploads/{uploadId}/parts",
  tags: ["Files"],
  summary: "Presigned PUT URLs for parts of your multipart upload (up to 100 per call)",
  access: "member",
  request: {
    params: UploadParams,
    body: { required: true, content: { "application/json": { schema: PresignPartsSchema } } },
  },
  responses: {
    200: jsonContent(
      z.object({ parts: z.array(PartUrlSchema) }).openapi("UploadPartUrls"),
      "One URL per part",
    ),
  },
  errors: [404, 409, 410, 422, 503],
});

export function registerPresignParts(app: App) {
  app.openapi(route, async (c) => {
    const { buildingId, uploadId } = c.req.valid("param");
    const parts = await presignParts({
      ctx: verbContext(c),
      buildingId,
      fileId: uploadId,
      partNumbers: c.req.valid("json").partNumbers,
    });
    c.header("Cache-Control", NoStore);
    return c.json(
      { parts: parts.map((p) => ({ ...toSigned(c, p), partNumber: p.partNumber, size: p.size })) },
      200,
    );
  });
}
