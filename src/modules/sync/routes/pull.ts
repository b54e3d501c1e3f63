import { z } from "@hono/zod-openapi";
import { jsonBody } from "../../../http/body";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { MAX_PULL_LIMIT, pullChanges } from "../pull";
import { SyncChangesSchema } from "../row-schemas";

export const DeviceId = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,64}$/, "1–64 characters of A-Z a-z 0-9 _ . : -")
  .openapi({ example: "ios-8f2c1d", description: "Stable id of the device (also the HLC node id)" });

export const PendingCounts = z
  .record(z.string().max(64), z.number().int().min(0).max(1_000_000))
  .optional()
  .openapi({
    description:
      "Ops still queued on the device, per synced entity (recorded in sync state). Keys must be synced entity names (see SyncEntity) and values whole numbers up to 1,000,000; anything else is 400.",
  });

const Cursor = z
  .number()
  .int()
  .min(0)
  .max(Number.MAX_SAFE_INTEGER)
  .nullable()
  .openapi({ description: "The building version you have fully seen; null for a full snapshot" });

const PullRequestSchema = z
  .strictObject({
    deviceId: DeviceId.optional(),
    buildings: z
      .record(z.uuid(), Cursor)
      .refine((b) => Object.keys(b).length >= 1 && Object.keys(b).length <= 100, "name 1–100 buildings")
      .openapi({ example: { "0b6f4b1e-8a0e-4c1e-9a55-3f1d2e4c5b6a": 42 } }),
    limit: z.number().int().min(1).max(MAX_PULL_LIMIT).optional().openapi({
      description: "Rows per page (default 1000); a version is never split, so a page may exceed it",
    }),
    pending: PendingCounts,
  })
  .openapi("SyncPullRequest");

const PullResponseSchema = z
  .object({
    changes: SyncChangesSchema,
    cursors: z.record(z.string(), z.number().int().nullable()),
    hasMore: z.boolean().openapi({ description: "Pull again with the new cursors for the rest" }),
    reset: z
      .array(z.uuid())
      .openapi({ description: "Buildings answered with a full snapshot: drop their local rows first" }),
    errors: z
      .record(z.string(), z.object({ code: z.string(), detail: z.string() }))
      .openapi({ description: "Buildings you cannot read (NOT_FOUND): drop them locally" }),
    clock: z
      .string()
      .nullable()
      .openapi({ description: "Newest edit clock accepted by these buildings; merge it into your HLC" }),
  })
  .openapi("SyncPullResponse");

const route = defineRoute({
  method: "post",
  operationId: "syncPull",
  path: "/sync/pull",
  tags: ["Sync"],
  summary: "Changes of your buildings since your cursors (410 RESNAPSHOT_REQUIRED when a cursor is too old)",
  access: "user",
  request: { body: { required: true, content: { "application/json": { schema: PullRequestSchema } } } },
  responses: { 200: jsonContent(PullResponseSchema, "A page of changes") },
  errors: [410],
});

export function registerPull(app: App) {
  app.openapi(route, async (c) => {
    const body = c.req.valid("json");
    // Already serialized (UTF-8 bytes): the rows are the JSON text Postgres built (see pull.ts).
    return jsonBody(c, await pullChanges(verbContext(c), body)) as never;
  });
}
