import type { App } from "../../../http/env";
import { defineRoute } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { BuildingParams, uuidParam } from "../../buildings/common";
import { purgeAttachmentsOf } from "../../files/housekeeping";
import { deleteAnnouncement } from "../verbs";

const route = defineRoute({
  method: "delete",
  operationId: "deleteAnnouncement",
  path: "/buildings/{buildingId}/announcements/{announcementId}",
  tags: ["Announcements"],
  summary: "Delete an announcement (managers): a tombstone that sync clients receive",
  access: "manager",
  request: { params: BuildingParams.extend({ announcementId: uuidParam("announcementId") }) },
  responses: { 204: { description: "Deleted" } },
});

export function registerDeleteAnnouncement(app: App) {
  app.openapi(route, async (c) => {
    const { buildingId, announcementId } = c.req.valid("param");
    await deleteAnnouncement({ ctx: verbContext(c), buildingId, announcementId });
    // Its files go with it (objects first); whatever fails here, files housekeeping deletes later.
    await purgeAttachmentsOf(c.get("services"), buildingId, "announcement", [announcementId]);
    return c.body(null, 204);
  });
}
