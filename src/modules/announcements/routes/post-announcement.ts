import { z } from "@hono/zod-openapi";
import { boundedDateTime } from "../../../http/dates";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { BuildingParams, text } from "../../buildings/common";
import { ANNOUNCEMENT_PRIORITIES, AnnouncementSchema, toAnnouncement } from "../schemas";
import { postAnnouncement } from "../verbs";

export const AnnouncementFields = {
  title: text(200),
  body: text(10_000),
  priority: z.enum(ANNOUNCEMENT_PRIORITIES).optional(),
  publishedAt: boundedDateTime("Schedule: residents see it from this time on (default: now)")
    .transform((s) => new Date(s))
    .optional(),
};

const PostAnnouncementSchema = z.strictObject(AnnouncementFields).openapi("PostAnnouncement");

const route = defineRoute({
  method: "post",
  operationId: "postAnnouncement",
  path: "/buildings/{buildingId}/announcements",
  tags: ["Announcements"],
  summary: "Post an announcement (managers)",
  access: "manager",
  request: {
    params: BuildingParams,
    body: { required: true, content: { "application/json": { schema: PostAnnouncementSchema } } },
  },
  responses: { 201: jsonContent(AnnouncementSchema, "The announcement") },
});

export function registerPostAnnouncement(app: App) {
  app.openapi(route, async (c) => {
    const { buildingId } = c.req.valid("param");
    const row = await postAnnouncement({ ctx: verbContext(c), buildingId, input: c.req.valid("json") });
    c.header("Location", `${new URL(c.req.url).pathname}/${row.id}`);
    return c.json(toAnnouncement(row), 201);
  });
}
