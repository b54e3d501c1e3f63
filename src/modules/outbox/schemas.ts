/** API shapes of the outbox admin routes. */
import { z } from "@hono/zod-openapi";

export const TopicSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$/, "a topic looks like family.name, lower-case")
  .max(100);

export const DeadFiltersSchema = z.object({
  topic: TopicSchema.optional().openapi({
    description: "Only events of this topic",
    example: "sync.conflict",
  }),
  buildingId: z.uuid().optional().openapi({ description: "Only events of this building" }),
});

export const DeadEventSchema = z
  .object({
    id: z.uuid(),
    topic: z.string(),
    buildingId: z.uuid().nullable(),
    payload: z.unknown().openapi({ description: "The event's payload as recorded" }),
    correlationId: z.string(),
    attempts: z.number().int(),
    lastError: z.string().nullable(),
    createdAt: z.iso.datetime(),
    deadAt: z.iso.datetime(),
  })
  .openapi("DeadOutboxEvent");

export const OutboxStatsSchema = z
  .object({
    pending: z.number().int().openapi({ description: "Neither delivered nor dead, due now or later" }),
    due: z.number().int().openapi({ description: "Pending and due now" }),
    oldestDueAgeSeconds: z
      .number()
      .int()
      .openapi({ description: "How long the oldest due event has waited" }),
    dead: z.number().int(),
    inFlight: z.number().int().openapi({ description: "Held by a consumer right now" }),
  })
  .openapi("OutboxStats");
