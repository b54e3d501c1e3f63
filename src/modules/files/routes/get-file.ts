import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { FileWithUrlsSchema, toFile } from "../schemas";
import { getFile } from "../verbs";
import { absolute, FileParams, NoStore } from "./common";

const route = defineRoute({
  method: "get",
  operationId: "getFile",
  path: "/buildings/{buildingId}/files/{fileId}",
  tags: ["Files"],
  summary: "A file with signed download URLs of its original and thumbnails (ready files)",
  description:
    "Visible to the uploader, managers, and whoever may read the file's parent. URLs expire after " +
    "DOWNLOAD_URL_TTL_SECONDS; ask again for fresh ones.",
  access: "member",
  request: { params: FileParams },
  responses: { 200: jsonContent(FileWithUrlsSchema, "The file") },
  errors: [404, 503],
});

export function registerGetFile(app: App) {
  app.openapi(route, async (c) => {
    const { buildingId, fileId } = c.req.valid("param");
    const { file, urls } = await getFile({ ctx: verbContext(c), buildingId, fileId });
    // Signed URLs are credentials with a deadline: never stored by a cache.
    const out: Record<string, { url: string; expiresAt: string; contentType: string; width: number | null }> =
      {};
    for (const [name, u] of Object.entries(urls)) {
      out[name] = {
        url: absolute(c, u.url),
        expiresAt: u.expiresAt.toISOString(),
        contentType: u.contentType,
        width: u.width,
      };
    }
    return c.json({ ...toFile(file), urls: out }, 200, { "Cache-Control": NoStore });
  });
}
