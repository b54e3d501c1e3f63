import { z } from "@hono/zod-openapi";
import { setCacheControl } from "../../../http/cache-control";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { CHANGELOG } from "../changelog-data";

const Entries = z.array(z.string()).optional();

const ReleaseSchema = z
  .object({
    version: z.string().openapi({ description: "`Unreleased` or a semantic version", example: "0.1.0" }),
    date: z.string().nullable().openapi({ description: "Release date (YYYY-MM-DD); null when unreleased" }),
    changes: z.object({
      Added: Entries,
      Changed: Entries,
      Deprecated: Entries,
      Removed: Entries,
      Fixed: Entries,
      Security: Entries,
    }),
  })
  .openapi("ChangelogRelease");

export const ChangelogSchema = z
  .object({
    format: z.literal("keep-a-changelog/1.1.0"),
    data: z.array(ReleaseSchema).openapi({ description: "Newest first" }),
  })
  .openapi("Changelog");

const route = defineRoute({
  method: "get",
  operationId: "getChangelog",
  path: "/meta/changelog",
  tags: ["Meta"],
  summary: "The API changelog (CHANGELOG.md, Keep a Changelog), newest release first",
  responses: { 200: jsonContent(ChangelogSchema, "Releases with their changes per kind") },
});

export function registerChangelog(app: App) {
  app.openapi(route, (c) => {
    setCacheControl(c, { scope: "public", maxAge: 300, sMaxAge: 300 });
    return c.json({ format: "keep-a-changelog/1.1.0" as const, data: CHANGELOG }, 200);
  });
}
