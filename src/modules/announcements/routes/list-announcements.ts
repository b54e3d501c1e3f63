import { CACHE_POLICIES } from "../../../http/cache-control";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { PaginationQuerySchema, paginatedSchema } from "../../../http/pagination";
import { verbContext } from "../../../verbs";
import { BuildingParams } from "../../buildings/common";
import { withAttachments } from "../../files/attachments";
import { AnnouncementSchema, toAnnouncement } from "../schemas";
import { listAnnouncements } from "../verbs";

const AnnouncementPageSchema = paginatedSchema(AnnouncementSchema, "AnnouncementPage");

const route = defineRoute({
  method: "get",
  operationId: "listAnnouncements",
  path: "/buildings/{buildingId}/announcements",
  tags: ["Announcements"],
  summary: "List announcements, newest first (members)",
  access: "member",
  request: { params: BuildingParams, query: PaginationQuerySchema },
  responses: { 200: jsonContent(AnnouncementPageSchema, "A page of announcements") },
});

export function registerListAnnouncements(app: App) {
  app.openapi(route, async (c) => {
    // Tenant data: only the client may keep it, revalidating with its ETag (a 304 when unchanged).
    const { buildingId } = c.req.valid("param");
    const ctx = verbContext(c);
    const page = await listAnnouncements({ ctx, buildingId, query: c.req.valid("query") });
    const data = await withAttachments(ctx, buildingId, "announcement", page.data.map(toAnnouncement));
    return c.json({ data, pagination: page.pagination }, 200, {
      "Cache-Control": CACHE_POLICIES.privateRevalidate,
    });
  });
}
