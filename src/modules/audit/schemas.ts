import { z } from "@hono/zod-openapi";

export const AuditEntrySchema = z
  .object({
    id: z.uuid(),
    seq: z.number().int().openapi({ description: "Position in the building's chain, from 1" }),
    buildingId: z.uuid().nullable(),
    userId: z.uuid().nullable().openapi({ description: "Acting user; null for system actions" }),
    action: z.string().openapi({ example: "membership.create" }),
    entityType: z.string().openapi({ example: "membership" }),
    entityId: z.string(),
    changes: z.unknown().openapi({ description: "`{ before, after }` with secrets stripped" }),
    ipAddress: z.string(),
    userAgent: z.string(),
    correlationId: z.string(),
    timestamp: z.string().openapi({ format: "date-time" }),
    hash: z.string().openapi({ description: "SHA-256 over the previous hash and this entry" }),
    prevHash: z.string(),
  })
  .openapi("AuditEntry");

export const ChainReportSchema = z
  .object({
    scope: z.string(),
    rows: z
      .number()
      .int()
      .openapi({ description: "Rows checked (up to and including the first broken one)" }),
    valid: z.boolean(),
    firstBroken: z
      .object({
        seq: z.number().int(),
        id: z.uuid(),
        reason: z.enum(["hash_mismatch", "prev_hash_mismatch", "sequence_gap"]),
      })
      .nullable(),
    verifiedAt: z.string().openapi({ format: "date-time" }),
  })
  .openapi("AuditChainReport");
