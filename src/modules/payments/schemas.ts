/** Payment and balance response shapes, and the request fields they share. */
import { z } from "@hono/zod-openapi";
import type { payments } from "../../db/schema";
import { boundedDate, boundedDateTime } from "../../http/dates";
import { isoOrNull, rowTimes, Timestamp, text } from "../buildings/common";
import { CurrencySchema } from "../buildings/schemas";

export const PAYMENT_METHODS = ["cash", "bank_transfer", "card", "check", "direct_debit", "other"] as const;
/** 10^12 minor units: far above any building's dues, far below Number.MAX_SAFE_INTEGER even summed. */
export const MAX_AMOUNT_MINOR = 1_000_000_000_000;

export const PaymentFields = {
  amountMinor: z
    .number()
    .int()
    .positive()
    .max(MAX_AMOUNT_MINOR)
    .openapi({ description: "Amount in minor units (cents, agorot), > 0", example: 45000 }),
  currency: CurrencySchema,
  description: text(500, 0).optional(),
  dueDate: boundedDate("Dues: the date it is due").nullable().optional(),
  paidAt: boundedDateTime("Payments: when it was paid (default: now)")
    .transform((s) => new Date(s))
    .nullable()
    .optional(),
  method: z.enum(PAYMENT_METHODS).nullable().optional().openapi({ description: "Payments: how it was paid" }),
};

export const PaymentSchema = z
  .object({
    id: z.uuid(),
    buildingId: z.uuid(),
    apartmentId: z.uuid(),
    kind: z.enum(["due", "payment"]),
    amountMinor: z.number().int(),
    currency: z.string(),
    description: z.string(),
    dueDate: z.string().nullable(),
    paidAt: Timestamp.nullable(),
    method: z.string().nullable(),
    recordedBy: z.uuid(),
    syncVersion: z.number().int(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    deletedAt: Timestamp.nullable(),
  })
  .openapi("Payment");

export function toPayment(row: typeof payments.$inferSelect): z.infer<typeof PaymentSchema> {
  return {
    id: row.id,
    buildingId: row.buildingId,
    apartmentId: row.apartmentId,
    kind: row.kind,
    amountMinor: row.amountMinor,
    currency: row.currency,
    description: row.description,
    dueDate: row.dueDate,
    paidAt: isoOrNull(row.paidAt),
    method: row.method,
    recordedBy: row.recordedBy,
    syncVersion: row.syncVersion,
    ...rowTimes(row),
  } as z.infer<typeof PaymentSchema>;
}

export const BalanceSchema = z
  .object({
    apartmentId: z.uuid(),
    balances: z.array(
      z.object({
        currency: z.string(),
        duesMinor: z.number().int(),
        paymentsMinor: z.number().int(),
        balanceMinor: z.number().int().openapi({ description: "dues − payments: > 0 owes, < 0 in credit" }),
      }),
    ),
  })
  .openapi("ApartmentBalance");
