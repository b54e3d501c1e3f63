/**
 * Request and response schemas of the identity routes. Strict objects: unknown fields are a 400,
 * so a client that sends `isPlatformAdmin` or `passwordHash` learns at once that it is ignored.
 */
import { z } from "@hono/zod-openapi";
import { PASSWORD_MAX_LENGTH } from "./password-policy";

export const LOCALES = ["en", "he"] as const;

/** The IANA zone as Intl spells it ("asia/jerusalem" → "Asia/Jerusalem"), or null when unknown. */
export function canonicalTimeZone(zone: string): string | null {
  if (!/^[A-Za-z0-9_+\-/]{1,64}$/.test(zone)) return null;
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

export const EmailField = z.email().max(254).openapi({ example: "dana@example.com" });
/** Control characters and lone surrogates cannot be stored as Postgres text (NUL) or shown sensibly. */
const PRINTABLE = /^[^\p{Cc}\p{Cs}]*$/u;

export const NameField = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(PRINTABLE, "must not contain control characters")
  // The generator writes the regex with its flags ("…$/u"); JSON Schema wants the bare source.
  .openapi({ example: "Dana Levi", pattern: PRINTABLE.source });
export const PhoneField = z
  .string()
  .regex(/^\+[1-9]\d{6,14}$/, "must be an E.164 number such as +972501234567")
  .openapi({ example: "+972501234567" });
export const LocaleField = z.enum(LOCALES).openapi({ description: "Preferred language", example: "he" });
export const TimezoneField = z
  .string()
  .max(64)
  .refine((tz) => canonicalTimeZone(tz) !== null, "must be an IANA time zone such as Asia/Jerusalem")
  .openapi({ example: "Asia/Jerusalem" });

/** Policy rules are checked by the verb, so every unmet rule is reported together (WEAK_PASSWORD). */
export const NewPasswordField = z
  .string()
  .max(PASSWORD_MAX_LENGTH * 4)
  .openapi({ description: "At least 12 characters with upper case, lower case, digit and symbol" });

export const RegisterSchema = z
  .strictObject({
    email: EmailField,
    password: NewPasswordField,
    name: NameField,
    phone: PhoneField.optional(),
    locale: LocaleField.optional(),
    timezone: TimezoneField.optional(),
  })
  .openapi("RegisterRequest");

export const LoginSchema = z
  .strictObject({
    email: EmailField,
    password: z
      .string()
      .min(1)
      .max(PASSWORD_MAX_LENGTH * 4),
  })
  .openapi("LoginRequest");

export const RefreshTokenSchema = z
  .strictObject({
    refreshToken: z
      .string()
      .min(1)
      .max(256)
      .openapi({ description: "The opaque refresh token of the last login or refresh" }),
  })
  .openapi("RefreshTokenRequest");

export const UpdateProfileSchema = z
  .strictObject({
    name: NameField.optional(),
    email: EmailField.optional(),
    phone: PhoneField.nullable().optional(),
    locale: LocaleField.optional(),
    timezone: TimezoneField.optional(),
  })
  .refine((v) => Object.keys(v).length > 0, "at least one field is required")
  .openapi("UpdateProfileRequest");

export const ProfileSchema = z
  .object({
    id: z.uuid(),
    email: z.string(),
    name: z.string(),
    phone: z.string().nullable(),
    locale: z.enum(LOCALES),
    timezone: z.string(),
    isPlatformAdmin: z.boolean(),
    createdAt: z.string().openapi({ format: "date-time" }),
    updatedAt: z.string().openapi({ format: "date-time" }),
  })
  .openapi("Profile");

export const TokensSchema = z
  .object({
    accessToken: z.string().openapi({ description: "Bearer JWT for the Authorization header" }),
    refreshToken: z.string().openapi({ description: "Opaque; single use: each refresh returns a new one" }),
    expiresIn: z.number().int().openapi({ description: "Access token lifetime in seconds", example: 900 }),
  })
  .openapi("Tokens");

export type RegisterInput = z.infer<typeof RegisterSchema>;
export type UpdateProfileInput = z.infer<typeof UpdateProfileSchema>;
export type Profile = z.infer<typeof ProfileSchema>;
export type Tokens = z.infer<typeof TokensSchema>;
