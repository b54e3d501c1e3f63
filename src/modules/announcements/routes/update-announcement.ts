import { z } from "@hono/zod-openapi";
import { withIfMatch } from "../../../http/api-layer-docs";
import type { App } from "../../../http/env";
import { checkIfMatch, etagOf } from "../../../http/etag";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { BuildingParams, uuidParam } from "../../buildings/common";
import { attachmentsOf } from "../../files/attachments";
import { AnnouncementSchema, toAnnouncement } from "../schemas";
import { updateAnnouncement } from "../verbs";
import { AnnouncementFields } from "./post-announcement";

const UpdateAnnouncementSchema = z
  .strictObject({
    ...AnnouncementFields,
    title: AnnouncementFields.title.optional(),
    body: AnnouncementFields.body.optional(),
  })
  .refine((v) => Object.keys(v).length > 0, "give at least one field to change")
  .openapi("UpdateAnnouncement");

const route = defineRoute(
  withIfMatch({
    method: "patch",
    operationId: "updateAnnouncement",
    path: "/buildings/{buildingId}/announcements/{announcementId}",
    tags: ["Announcements"],
    summary: "Edit an announcement (managers)",
    access: "manager",
    request: {
      params: BuildingParams.extend({ announcementId: uuidParam("announcementId") }),
      body: { required: true, content: { "application/json": { schema: UpdateAnnouncementSchema } } },
    },
    responses: { 200: jsonContent(AnnouncementSchema, "The updated announcement") },
  }),
);

export function registerUpdateAnnouncement(app: App) {
  app.openapi(route, async (c) => {
    const { buildingId, announcementId } = c.req.valid("param");
    const input = c.req.valid("json");
    const ctx = verbContext(c);
    // The representation GET serves (and its ETag) lists the announcement's files.
    const attachments =
      (await attachmentsOf(ctx, buildingId, "announcement", [announcementId])).get(announcementId) ?? [];
    const row = await updateAnnouncement({
      ctx,
      buildingId,
      announcementId,
      input,
      precondition: (before) => checkIfMatch(c, etagOf({ ...toAnnouncement(before), attachments })),
    });
    const body = { ...toAnnouncement(row), attachments };
    // The new ETag, as GET serves it: the next write sends it in If-Match without a GET first.
    c.header("ETag", etagOf(body));
    return c.json(body, 200);
  });
}
