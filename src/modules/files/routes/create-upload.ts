import { z } from "@hono/zod-openapi";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { BuildingParams } from "../../buildings/common";
import { AttachmentRefSchema, FileSchema, Sha256Hex, toFile, UploadInstructionsSchema } from "../schemas";
import { FILE_PURPOSES } from "../tables";
import { createUpload } from "../verbs";
import { NoStore, toSigned } from "./common";

const CreateUploadSchema = z
  .strictObject({
    purpose: z.enum(FILE_PURPOSES),
    contentType: z
      .string()
      .min(3)
      .max(100)
      .regex(/^[a-z0-9.+-]+\/[a-z0-9.+-]+$/, "a lowercase type/subtype without parameters")
      .openapi({ example: "image/jpeg" }),
    size: z
      .number()
      .int()
      .min(1)
      .max(Number.MAX_SAFE_INTEGER)
      .openapi({ description: "Exact byte length (signed into the upload URL)" }),
    sha256: Sha256Hex.optional(),
    fileName: z.string().max(10_000).optional().openapi({
      description: "Kept, sanitized, as metadata (Content-Disposition); never part of a storage key",
    }),
    attachTo: AttachmentRefSchema.optional(),
  })
  .openapi("CreateUpload");

const UploadSchema = z.object({ file: FileSchema, upload: UploadInstructionsSchema }).openapi("Upload");

const route = defineRoute({
  method: "post",
  operationId: "createUpload",
  path: "/buildings/{buildingId}/uploads",
  tags: ["Files"],
  summary: "Start an upload: a presigned PUT into quarantine, or a multipart plan above the threshold",
  description:
    "The purpose decides the allowed types and the maximum size (413 with `maxBytes` when over). Upload the bytes " +
    "straight to the returned URL with exactly the returned headers, then complete the upload. Files above " +
    "UPLOAD_MULTIPART_THRESHOLD_BYTES get a multipart plan: ask for part URLs, PUT each part, complete.",
  access: "member",
  request: {
    params: BuildingParams,
    body: { required: true, content: { "application/json": { schema: CreateUploadSchema } } },
  },
  responses: { 201: jsonContent(UploadSchema, "The pending file and how to upload it") },
  errors: [403, 404, 413, 422, 503],
});

export function registerCreateUpload(app: App) {
  app.openapi(route, async (c) => {
    const { buildingId } = c.req.valid("param");
    const { file, upload } = await createUpload({
      ctx: verbContext(c),
      buildingId,
      input: c.req.valid("json"),
    });
    c.header("Cache-Control", NoStore);
    c.header("Location", `${new URL(c.req.url).pathname}/${file.id}`);
    return c.json(
      {
        file: toFile(file),
        upload:
          upload.kind === "single"
            ? { kind: "single" as const, request: toSigned(c, upload.request) }
            : { ...upload, expiresAt: upload.expiresAt.toISOString() },
      },
      201,
    );
  });
}
