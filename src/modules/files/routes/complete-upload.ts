import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { FileSchema, toFile } from "../schemas";
import { completeUpload } from "../verbs";
import { UploadParams } from "./common";

const route = defineRoute({
  method: "post",
  operationId: "completeUpload",
  path: "/buildings/{buildingId}/uploads/{uploadId}/complete",
  tags: ["Files"],
  summary: "Complete your upload once its bytes are in storage; processing starts",
  description:
    "Checks the object exists with the declared size and type (a multipart upload is assembled from all its parts " +
    "first), marks the file `uploaded` and queues processing (scan, images re-encoded with thumbnails). Someone " +
    "else's upload: 404; completed already: 409; bytes missing: 409; past its deadline: 410.",
  access: "member",
  request: { params: UploadParams },
  responses: { 200: jsonContent(FileSchema, "The uploaded file (status `uploaded`)") },
  errors: [404, 409, 410, 422, 503],
});

export function registerCompleteUpload(app: App) {
  app.openapi(route, async (c) => {
    const { buildingId, uploadId } = c.req.valid("param");
    return c.json(toFile(await completeUpload({ ctx: verbContext(c), buildingId, fileId: uploadId })), 200);
  });
}
