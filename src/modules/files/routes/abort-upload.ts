import type { App } from "../../../http/env";
import { defineRoute } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { abortUpload } from "../verbs";
import { UploadParams } from "./common";

const route = defineRoute({
  method: "delete",
  operationId: "abortUpload",
  path: "/buildings/{buildingId}/uploads/{uploadId}",
  tags: ["Files"],
  summary: "Cancel your pending upload (storage drops its bytes and parts)",
  access: "member",
  request: { params: UploadParams },
  responses: { 204: { description: "Cancelled" } },
  errors: [404, 409, 410, 503],
});

export function registerAbortUpload(app: App) {
  app.openapi(route, async (c) => {
    const { buildingId, uploadId } = c.req.valid("param");
    await abortUpload({ ctx: verbContext(c), buildingId, fileId: uploadId });
    return c.body(null, 204);
  });
}
