/**
 * `notify`: other modules send a typed notification to chosen users or to every platform
 * administrator, inside their own transaction (an outbox event on `notifications.direct`, so it
 * commits with their write and is delivered — rendered, per preferences, inbox and push — by
 * the same path as domain events). The webhooks alerting calls it with the critical `alert` type.
 *
 *   await notify(tx.db, { type: "alert", to: "platform-admins", key: `breaker:${endpointId}:${hour}`,
 *     values: { title: "Endpoint breaker open", detail: "https://… failed 5 times" } });
 */
import { z } from "@hono/zod-openapi";
import type { DbOrTx } from "../../platform/db";
import { recordEvent } from "../outbox/record";
import { type NotificationType, NotificationTypeSchema, specOf, variablesSchema } from "./catalogue";
import { uuidFromText } from "./deliver";

export const DIRECT_TOPIC = "notifications.direct";

export const DirectNoticeSchema = z.strictObject({
  eventId: z.uuid(),
  type: NotificationTypeSchema,
  buildingId: z.uuid().nullable(),
  to: z.union([
    z.strictObject({ platformAdmins: z.literal(true) }),
    z.strictObject({ userIds: z.array(z.uuid()).min(1).max(10_000) }),
  ]),
  values: z.record(z.string(), z.string().max(10_000)),
  urgent: z.boolean(),
  data: z.record(z.string(), z.string().max(1000)),
});
export type DirectNotice = z.infer<typeof DirectNoticeSchema>;

export interface NotifyInput<T extends NotificationType> {
  type: T;
  to: "platform-admins" | { userIds: string[] };
  /** The type's variables (./catalogue.ts), as text. */
  values: Record<string, string>;
  /** Deduplication: a second notify with the same key is the first one (nothing new is sent). */
  key?: string;
  buildingId?: string | null;
  /** Default: the type's critical flag. Urgent notifications ignore quiet hours. */
  urgent?: boolean;
  /** Extra string data for the app (deep-link ids). */
  data?: Record<string, string>;
}

/** Records the notification in `tx`; answers its event id and whether it is new (false: the key was used). */
export async function notify<T extends NotificationType>(
  tx: DbOrTx,
  input: NotifyInput<T>,
): Promise<{ eventId: string; created: boolean }> {
  const values = variablesSchema(input.type).parse(input.values) as Record<string, string>;
  const eventId = input.key ? await uuidFromText(`notify:${input.key}`) : crypto.randomUUID();
  const payload: DirectNotice = {
    eventId,
    type: input.type,
    buildingId: input.buildingId ?? null,
    to: input.to === "platform-admins" ? { platformAdmins: true } : { userIds: input.to.userIds },
    values,
    urgent: input.urgent ?? specOf(input.type).critical,
    data: input.data ?? {},
  };
  DirectNoticeSchema.parse(payload);
  const recorded = await recordEvent(tx, {
    topic: DIRECT_TOPIC,
    buildingId: payload.buildingId,
    payload,
    ...(input.key ? { idempotencyKey: input.key } : {}),
  });
  return { eventId, created: recorded.created };
}
