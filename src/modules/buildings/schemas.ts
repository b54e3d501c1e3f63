/**
 * Response shapes of buildings, apartments and members, shared by their routes, and the mappers
 * from rows. Residents see every apartment of their building with its basic fields (number,
 * floor) but the details (area, rooms) only of their own apartment; managers see everything.
 */
import { z } from "@hono/zod-openapi";
import type { apartments, buildings, memberships } from "../../db/schema";
import { rowTimes, Timestamp, text } from "./common";

type BuildingRow = typeof buildings.$inferSelect;
type ApartmentRow = typeof apartments.$inferSelect;
type MembershipRow = typeof memberships.$inferSelect;

const isTimeZone = (tz: string) => {
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
};

const knownCurrencies = (() => {
  try {
    return new Set(
      (Intl as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf?.("currency") ?? [],
    );
  } catch {
    return new Set<string>();
  }
})();

/** ISO 4217: three upper-case letters, and a code the runtime's ICU knows when it lists them. */
export const CurrencySchema = z
  .string()
  .regex(/^[A-Z]{3}$/, "ISO 4217 code: three upper-case letters")
  .refine((c) => knownCurrencies.size === 0 || knownCurrencies.has(c), "unknown ISO 4217 currency")
  .openapi({ example: "ILS" });

export const TimezoneSchema = z.string().min(1).max(64).refine(isTimeZone, "unknown IANA time zone");

export const BuildingFields = {
  name: text(200),
  addressLine: text(300),
  city: text(120),
  country: z
    .string()
    .regex(/^[A-Z]{2}$/, "ISO 3166-1 alpha-2 code")
    .openapi({ example: "IL" }),
  postalCode: text(20).nullable().optional(),
  timezone: TimezoneSchema.optional(),
  defaultLocale: z
    .string()
    .regex(/^[a-z]{2,3}(-[A-Z]{2})?$/, "language tag like en or pt-BR")
    .optional(),
  currency: CurrencySchema.optional(),
};

export const BuildingSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    addressLine: z.string(),
    city: z.string(),
    country: z.string(),
    postalCode: z.string().nullable(),
    timezone: z.string(),
    defaultLocale: z.string(),
    currency: z.string(),
    syncVersion: z.number().int(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    deletedAt: Timestamp.nullable(),
  })
  .openapi("Building");

export function toBuilding(row: BuildingRow): z.infer<typeof BuildingSchema> {
  return {
    id: row.id,
    name: row.name,
    addressLine: row.addressLine,
    city: row.city,
    country: row.country,
    postalCode: row.postalCode,
    timezone: row.timezone,
    defaultLocale: row.defaultLocale,
    currency: row.currency,
    syncVersion: row.syncVersion,
    ...rowTimes(row),
  } as z.infer<typeof BuildingSchema>;
}

export const ApartmentFields = {
  number: text(20),
  floor: z.number().int().min(-20).max(300).nullable().optional(),
  areaSqm: z.number().int().min(1).max(100_000).nullable().optional(),
  rooms: z.number().int().min(0).max(100).nullable().optional(),
};

export const ApartmentSchema = z
  .object({
    id: z.uuid(),
    buildingId: z.uuid(),
    number: z.string(),
    floor: z.number().int().nullable(),
    areaSqm: z
      .number()
      .int()
      .nullable()
      .optional()
      .openapi({ description: "Managers and the apartment's residents" }),
    rooms: z
      .number()
      .int()
      .nullable()
      .optional()
      .openapi({ description: "Managers and the apartment's residents" }),
    syncVersion: z.number().int(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    deletedAt: Timestamp.nullable(),
  })
  .openapi("Apartment");

/** `full` = managers, or residents looking at their own apartment. */
export function toApartment(row: ApartmentRow, full: boolean): z.infer<typeof ApartmentSchema> {
  return {
    id: row.id,
    buildingId: row.buildingId,
    number: row.number,
    floor: row.floor,
    ...(full ? { areaSqm: row.areaSqm, rooms: row.rooms } : {}),
    syncVersion: row.syncVersion,
    ...rowTimes(row),
  } as z.infer<typeof ApartmentSchema>;
}

export const MemberSchema = z
  .object({
    id: z.uuid(),
    buildingId: z.uuid(),
    userId: z.uuid(),
    apartmentId: z.uuid().nullable(),
    role: z.enum(["manager", "resident"]),
    user: z.object({
      name: z.string(),
      email: z.string(),
      status: z.string().openapi({ description: "active, or invited while the person has not signed up" }),
    }),
    syncVersion: z.number().int(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    deletedAt: Timestamp.nullable(),
  })
  .openapi("Member");

export interface MemberRow extends MembershipRow {
  user: { name: string; email: string; status: string };
}

export function toMember(row: MemberRow): z.infer<typeof MemberSchema> {
  return {
    id: row.id,
    buildingId: row.buildingId,
    userId: row.userId,
    apartmentId: row.apartmentId,
    role: row.role,
    user: row.user,
    syncVersion: row.syncVersion,
    ...rowTimes(row),
  } as z.infer<typeof MemberSchema>;
}
