/**
 * The notification types: for each, who receives it (documentation; ./recipients.ts computes
 * it), the variables its templates may use (a template naming anything else is refused when
 * saved, property 14), its default channels, and whether it is critical (always delivered on every
 * channel; the user's preferences for it are read-only, property 13). `roomFrame`: the building's
 * live room already carries the event, so a recipient online there gets it in the room and the
 * inbox instead of a push.
 */
import { z } from "@hono/zod-openapi";

export const CHANNELS = ["push", "in_app"] as const;
export type Channel = (typeof CHANNELS)[number];

export interface NotificationTypeSpec {
  recipients: string;
  variables: readonly string[];
  defaults: Readonly<Record<Channel, boolean>>;
  critical: boolean;
  roomFrame: boolean;
}

const both = { push: true, in_app: true } as const;

export const NOTIFICATION_TYPES = {
  announcement: {
    recipients: "members of the building, except its author",
    variables: ["title", "building"],
    defaults: both,
    critical: false,
    roomFrame: true,
  },
  "maintenance.status": {
    recipients: "the request's requester and assignee, except whoever changed it",
    variables: ["title", "status"],
    defaults: both,
    critical: false,
    roomFrame: true,
  },
  "maintenance.comment": {
    recipients: "the request's requester and assignee, except the comment's author",
    variables: ["title", "excerpt"],
    defaults: both,
    critical: false,
    roomFrame: false,
  },
  "payment.due": {
    recipients: "residents of the apartment",
    variables: ["amount", "dueDate", "apartment"],
    defaults: both,
    critical: false,
    roomFrame: false,
  },
  "payment.recorded": {
    recipients: "residents of the apartment, except whoever recorded it",
    variables: ["amount", "apartment"],
    defaults: both,
    critical: false,
    roomFrame: true,
  },
  invitation: {
    recipients: "the invited user",
    variables: ["building", "role"],
    defaults: both,
    critical: false,
    roomFrame: false,
  },
  "sync.conflict": {
    recipients: "the user whose offline edit lost",
    variables: ["field", "theirs", "winner"],
    defaults: { push: false, in_app: true },
    critical: false,
    roomFrame: true,
  },
  alert: {
    recipients: "platform administrators",
    variables: ["title", "detail"],
    defaults: both,
    critical: true,
    roomFrame: false,
  },
} as const satisfies Record<string, NotificationTypeSpec>;

export type NotificationType = keyof typeof NOTIFICATION_TYPES;
export const NOTIFICATION_TYPE_NAMES = Object.keys(NOTIFICATION_TYPES) as NotificationType[];
export const NotificationTypeSchema = z
  .enum(NOTIFICATION_TYPE_NAMES as [NotificationType, ...NotificationType[]])
  .openapi("NotificationType");
export const ChannelSchema = z.enum(CHANNELS).openapi("NotificationChannel");

export const specOf = (type: NotificationType): NotificationTypeSpec => NOTIFICATION_TYPES[type];

/** The zod schema of a type's variables: every declared one, as text (values are never templates). */
export function variablesSchema(type: NotificationType) {
  const shape: Record<string, z.ZodString> = {};
  for (const v of NOTIFICATION_TYPES[type].variables) shape[v] = z.string().max(10_000);
  return z.strictObject(shape);
}

/**
 * Whether `type` goes out on `channel` for a user whose stored choice is `stored` (undefined: no
 * choice made). Critical types ignore the choice.
 */
export function channelEnabled(
  type: NotificationType,
  channel: Channel,
  stored: boolean | undefined,
): boolean {
  const spec = NOTIFICATION_TYPES[type];
  if (spec.critical) return true;
  return stored ?? spec.defaults[channel];
}
