/** Response and request shapes of the notification routes. */
import { z } from "@hono/zod-openapi";
import { ApiError } from "../../errors";
import { PaginationMetaSchema } from "../../http/pagination";
import { Timestamp, text } from "../buildings/common";
import { LOCALES } from "../i18n/locales";
import { CHANNELS, ChannelSchema, NotificationTypeSchema } from "./catalogue";
import { MAX_BODY_CHARS, MAX_TITLE_CHARS } from "./render";
import type { InboxRow, QuietHoursView, TemplateView, TypePreferences } from "./verbs";

export const LocaleSchema = z.enum(LOCALES).openapi("Locale");

export const InboxNotificationSchema = z
  .object({
    id: z.uuid(),
    type: NotificationTypeSchema,
    buildingId: z.uuid().nullable(),
    eventId: z.uuid(),
    title: z.string().openapi({ description: "Rendered in the recipient's locale when it was sent" }),
    body: z.string(),
    locale: LocaleSchema,
    data: z
      .record(z.string(), z.string())
      .openapi({ description: "Ids for deep links (announcementId, requestId, …)" }),
    urgent: z.boolean(),
    read: z.boolean(),
    readAt: Timestamp.nullable(),
    createdAt: Timestamp,
  })
  .openapi("InboxNotification");

// Written out rather than paginatedSchema(...).extend(): an extended named schema is documented as
// allOf, and readers of the document (generators, the read-route contract) want plain properties.
export const InboxPageSchema = z
  .object({
    data: z.array(InboxNotificationSchema),
    pagination: PaginationMetaSchema,
    unreadCount: z.number().int().openapi({ description: "Unread notifications of the user, all pages" }),
  })
  .openapi("InboxNotificationPage");

export function toInbox(row: InboxRow): z.infer<typeof InboxNotificationSchema> {
  return {
    id: row.id,
    type: row.type as z.infer<typeof NotificationTypeSchema>,
    buildingId: row.buildingId,
    eventId: row.eventId,
    title: row.title,
    body: row.body,
    locale: row.locale as z.infer<typeof LocaleSchema>,
    data: row.data,
    urgent: row.urgent,
    read: row.readAt !== null,
    readAt: row.readAt ? row.readAt.toISOString() : null,
    createdAt: row.createdAt.toISOString(),
  };
}

const channelFlags = z.object(
  Object.fromEntries(CHANNELS.map((c) => [c, z.boolean()])) as Record<
    (typeof CHANNELS)[number],
    z.ZodBoolean
  >,
);

export const PreferencesSchema = z
  .object({
    types: z.array(
      z.object({
        type: NotificationTypeSchema,
        critical: z.boolean().openapi({ description: "Always sent on every channel; cannot be turned off" }),
        channels: channelFlags,
        defaults: channelFlags,
      }),
    ),
  })
  .openapi("NotificationPreferences");

export const toPreferences = (types: TypePreferences[]) => ({ types });

export const UpdatePreferencesSchema = z
  .strictObject({
    preferences: z
      .array(z.strictObject({ type: NotificationTypeSchema, channel: ChannelSchema, enabled: z.boolean() }))
      .min(1)
      .max(64),
  })
  .openapi("UpdateNotificationPreferences");

const Clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "expected HH:MM (00:00–23:59)");

export const QuietHoursSchema = z
  .object({
    enabled: z.boolean(),
    start: z.string().nullable().openapi({ example: "22:00" }),
    end: z.string().nullable().openapi({ example: "07:00" }),
    timezone: z.string().openapi({ example: "Asia/Jerusalem", description: "The user's IANA time zone" }),
  })
  .openapi("QuietHours");
export const toQuietHours = (v: QuietHoursView) => v;

export const UpdateQuietHoursSchema = z
  .strictObject({
    // Unions rather than .nullable(), so each keeps its example in the document.
    start: z
      .union([Clock.openapi({ example: "22:00" }), z.null()])
      .openapi({ description: "Local time the window opens; null (with end) turns it off" }),
    end: z
      .union([Clock.openapi({ example: "07:00" }), z.null()])
      .openapi({ description: "Local time it closes; before start wraps midnight" }),
    timezone: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .openapi({ description: "Sets the user's IANA time zone", example: "Asia/Jerusalem" }),
  })
  .openapi("UpdateQuietHours");

export const TemplateSchema = z
  .object({
    type: NotificationTypeSchema,
    variables: z.array(z.string()),
    critical: z.boolean(),
    defaults: channelFlags,
    texts: z.array(
      z.object({
        locale: LocaleSchema,
        channel: ChannelSchema,
        title: z.string(),
        body: z.string(),
        overridden: z.boolean(),
      }),
    ),
  })
  .openapi("NotificationTemplate");
export const toTemplate = (t: TemplateView) => ({ ...t, variables: [...t.variables] });

export const TemplateListSchema = z
  .object({ types: z.array(TemplateSchema) })
  .openapi("NotificationTemplates");

export const SaveTemplateSchema = z
  .strictObject({
    title: text(MAX_TITLE_CHARS).openapi({ example: "{{building}}: new announcement" }),
    body: text(MAX_BODY_CHARS).openapi({ example: "{{title}}" }),
  })
  .openapi("SaveNotificationTemplate");

/**
 * Path parameters as documented enums, parsed by the handler (parseTemplateParams): a zod enum on
 * the path would answer 400 before the body's media type is checked (415 must come first).
 */
export const TemplateParams = z.object({
  type: z
    .string()
    .max(64)
    .openapi({ param: { name: "type", in: "path" }, enum: [...NotificationTypeSchema.options] }),
  locale: z
    .string()
    .max(64)
    .openapi({ param: { name: "locale", in: "path" }, enum: [...LOCALES] }),
  channel: z
    .string()
    .max(64)
    .openapi({ param: { name: "channel", in: "path" }, enum: [...CHANNELS] }),
});

const ParsedTemplateParams = z.object({
  type: NotificationTypeSchema,
  locale: LocaleSchema,
  channel: ChannelSchema,
});

export function parseTemplateParams(params: z.infer<typeof TemplateParams>) {
  const parsed = ParsedTemplateParams.safeParse(params);
  if (!parsed.success)
    throw new ApiError("VALIDATION_FAILED", "unknown notification type, locale or channel", {
      errors: parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })),
    });
  return parsed.data;
}
