/** API shapes of the device routes. */
import { z } from "@hono/zod-openapi";
import { IANAZone } from "luxon";
import { PUSH_PLATFORMS, PUSH_PROVIDERS, type pushDevices } from "./schema";

/** Longest token we store: FCM tokens are ~160 characters, APNs tokens 64 hex digits, endpoints a URL. */
export const MAX_TOKEN_LENGTH = 4096;
export const MAX_ENDPOINT_LENGTH = 2048;

const base64url = (bytes: number, what: string) =>
  z
    .string()
    .max(200)
    .refine((s) => {
      if (!/^[A-Za-z0-9_-]+={0,2}$/.test(s)) return false;
      const raw = s.replace(/=+$/, "");
      return Math.floor((raw.length * 3) / 4) === bytes;
    }, `must be the base64url encoding of ${what} (${bytes} bytes)`);

export const P256dhField = base64url(65, "an uncompressed P-256 public key").refine((s) => {
  // 0x04: the uncompressed point marker, the first base64url character of 0x04 is "B".
  return s.startsWith("B");
}, "must be an uncompressed P-256 point");
export const AuthSecretField = base64url(16, "the auth secret");

/** An IANA zone luxon knows (quiet hours run on it), stored canonical. */
export const DeviceTimezoneField = z
  .string()
  .max(64)
  .refine((tz) => IANAZone.isValidZone(tz), "must be an IANA time zone such as Asia/Jerusalem")
  // Intl spells it canonically ("asia/jerusalem" → "Asia/Jerusalem"); luxon keeps what it was given.
  .transform((tz) => new Intl.DateTimeFormat("en-US", { timeZone: tz }).resolvedOptions().timeZone)
  .openapi({ example: "Asia/Jerusalem" });

/** A BCP 47 language tag, stored canonical (`he-il` → `he-IL`). */
export const DeviceLocaleField = z
  .string()
  .max(35)
  .regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/, "must be a BCP 47 language tag such as he-IL")
  .transform((tag, ctx) => {
    try {
      return Intl.getCanonicalLocales(tag)[0]!;
    } catch {
      ctx.addIssue({ code: "custom", message: "must be a BCP 47 language tag such as he-IL" });
      return z.NEVER;
    }
  })
  .openapi({ example: "he-IL" });

export const WebPushSubscriptionSchema = z
  .strictObject({
    endpoint: z
      .url({ protocol: /^https$/, error: "must be an https URL" })
      .max(MAX_ENDPOINT_LENGTH)
      .openapi({ example: "https://fcm.googleapis.com/fcm/send/dXJ..." }),
    expirationTime: z.number().nullable().optional(),
    keys: z.strictObject({ p256dh: P256dhField, auth: AuthSecretField }),
  })
  .openapi("WebPushSubscription", { description: "What PushSubscription.toJSON() gives in the browser" });

const TOKEN = /^[\x21-\x7e]+$/;

export const RegisterDeviceSchema = z
  .strictObject({
    platform: z.enum(PUSH_PLATFORMS),
    provider: z.enum(PUSH_PROVIDERS),
    token: z
      .string()
      .min(1)
      .max(MAX_TOKEN_LENGTH)
      .regex(TOKEN, "printable ASCII without spaces")
      .optional()
      .openapi({ description: "FCM registration token or APNs device token (hex); not for webpush" }),
    subscription: WebPushSubscriptionSchema.optional().openapi({ description: "webpush only" }),
    appVersion: z
      .string()
      .max(50)
      .regex(/^[\x20-\x7e]*$/, "printable ASCII")
      .optional(),
    locale: DeviceLocaleField.optional().openapi({ description: "Default: the profile's locale" }),
    timezone: DeviceTimezoneField.optional().openapi({ description: "Default: the profile's time zone" }),
  })
  .superRefine((v, ctx) => {
    if (v.provider === "webpush") {
      if (!v.subscription)
        ctx.addIssue({ code: "custom", path: ["subscription"], message: "required for webpush" });
      if (v.token !== undefined)
        ctx.addIssue({ code: "custom", path: ["token"], message: "webpush sends subscription" });
      if (v.platform !== "web")
        ctx.addIssue({ code: "custom", path: ["platform"], message: "webpush is for web" });
    } else {
      if (!v.token) ctx.addIssue({ code: "custom", path: ["token"], message: `required for ${v.provider}` });
      if (v.subscription) ctx.addIssue({ code: "custom", path: ["subscription"], message: "webpush only" });
    }
    if (v.provider === "apns") {
      if (v.platform !== "ios")
        ctx.addIssue({ code: "custom", path: ["platform"], message: "apns is for ios" });
      if (v.token && !/^[0-9a-fA-F]{64,200}$/.test(v.token)) {
        ctx.addIssue({ code: "custom", path: ["token"], message: "an APNs device token is hexadecimal" });
      }
    }
  })
  .openapi("RegisterDevice");
export type RegisterDeviceInput = z.infer<typeof RegisterDeviceSchema>;

export const DeviceSchema = z
  .object({
    id: z.uuid(),
    platform: z.enum(PUSH_PLATFORMS),
    provider: z.enum(PUSH_PROVIDERS),
    token: z.string().openapi({ description: "The token, or the Web Push endpoint" }),
    appVersion: z.string().nullable(),
    locale: z.string(),
    timezone: z.string(),
    createdAt: z.iso.datetime(),
    lastSeenAt: z.iso.datetime(),
  })
  .openapi("PushDevice");
export type Device = z.infer<typeof DeviceSchema>;

export const DeviceListSchema = z.object({ items: z.array(DeviceSchema) }).openapi("PushDeviceList");

export const DeviceParams = z.object({
  deviceId: z.uuid().openapi({ param: { name: "deviceId", in: "path" } }),
});

export const VapidKeySchema = z
  .object({
    publicKey: z.string().openapi({
      description: "applicationServerKey for PushManager.subscribe (base64url, uncompressed P-256)",
    }),
  })
  .openapi("VapidPublicKey");

export function toDevice(row: typeof pushDevices.$inferSelect): Device {
  return {
    id: row.id,
    platform: row.platform,
    provider: row.provider,
    token: row.token,
    appVersion: row.appVersion,
    locale: row.locale,
    timezone: row.timezone,
    createdAt: row.createdAt.toISOString(),
    lastSeenAt: row.lastSeenAt.toISOString(),
  };
}
