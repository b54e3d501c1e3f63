import { CACHE_POLICIES } from "../../../http/cache-control";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { BuildingParams, uuidParam } from "../../buildings/common";
import { withAttachments } from "../../files/attachments";
import { AnnouncementSchema, toAnnouncement } from "../schemas";
import { getAnnouncement } from "../verbs";

const route = defineRoute({
  method: "get",
  operationId: "getAnnouncement",
  path: "/buildings/{buildingId}/announcements/{announcementId}",
  tags: ["Announcements"],
  summary: "Read an announcement (members)",
  access: "member",
  request: { params: BuildingParams.extend({ announcementId: uuidParam("announcementId") }) },
  responses: { 200: jsonContent(AnnouncementSchema, "The announcement") },
});

export function registerGetAnnouncement(app: App) {
  app.openapi(route, async (c) => {
    // Tenant data: only the client may keep it, revalidating with its ETag (a 304 when unchanged).
    const { buildingId, announcementId } = c.req.valid("param");
    const ctx = verbContext(c);
    const row = toAnnouncement(await getAnnouncement({ ctx, buildingId, announcementId }));
    const [withFiles] = await withAttachments(ctx, buildingId, "announcement", [row]);
    return c.json(withFiles!, 200, { "Cache-Control": CACHE_POLICIES.privateRevalidate });
  });
}
