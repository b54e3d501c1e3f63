/**
 * Payment verbs. Managers record dues (what an apartment owes) and payments (what it paid) and
 * correct or delete them; every write and its audit row (`payment.create|update|delete`, with
 * before/after) commit in one transaction. Residents read their own apartment's rows only:
 * another apartment's payment answers 404, as if it did not exist.
 */
import { and, eq, isNull, type SQL, sql } from "drizzle-orm";
import { buildings, payments } from "../../db/schema";
import { ApiError } from "../../errors";
import type { PaginationQuery } from "../../http/pagination";
import { inTransaction, type VerbContext } from "../../verbs";
import { recordAudit } from "../audit/chain";
import { findApartment } from "../buildings/apartment-verbs";
import { actorId, listPage, membershipOf, requireManager, snapshot } from "../buildings/common";
import { recordDomainEvent } from "../events";
import { bumpBuildingVersion } from "../sync/version";

export type PaymentRow = typeof payments.$inferSelect;
type Method = NonNullable<PaymentRow["method"]>;

export interface PaymentInput {
  apartmentId: string;
  kind: "due" | "payment";
  amountMinor: number;
  /** Defaults to the building's currency. */
  currency?: string;
  description?: string;
  dueDate?: string | null;
  paidAt?: Date | null;
  method?: Method | null;
}

export type PaymentChanges = Partial<Omit<PaymentInput, "apartmentId" | "kind">>;

/** Dues carry a due date and no payment facts; payments carry when (default now) and how. */
function checkKind(
  kind: PaymentRow["kind"],
  row: { dueDate?: string | null; paidAt?: Date | null; method?: string | null },
) {
  if (kind === "due") {
    if (!row.dueDate) throw new ApiError("UNPROCESSABLE", "a due needs a dueDate");
    if (row.paidAt || row.method)
      throw new ApiError("UNPROCESSABLE", "paidAt and method belong to payments, not dues");
  } else if (!row.paidAt) {
    throw new ApiError("UNPROCESSABLE", "a payment needs paidAt");
  }
}

/** A live payment of the building the caller may see (residents: their apartment's), or 404. */
export async function findPayment(
  ctx: VerbContext,
  buildingId: string,
  paymentId: string,
): Promise<PaymentRow> {
  const m = membershipOf(ctx, buildingId);
  const [row] = await ctx.db
    .select()
    .from(payments)
    .where(and(eq(payments.id, paymentId), eq(payments.buildingId, buildingId), isNull(payments.deletedAt)));
  if (!row || (m.role !== "manager" && row.apartmentId !== m.apartmentId)) {
    throw new ApiError("NOT_FOUND", `payment ${paymentId} not found`);
  }
  return row;
}

export async function recordPayment(args: { ctx: VerbContext; buildingId: string; input: PaymentInput }) {
  const { ctx, buildingId, input } = args;
  requireManager(ctx, buildingId);
  return inTransaction(ctx, async (tx) => {
    const version = await bumpBuildingVersion(tx.db, buildingId);
    await findApartment(tx, buildingId, input.apartmentId);
    let currency = input.currency;
    if (!currency) {
      const [b] = await tx.db
        .select({ currency: buildings.currency })
        .from(buildings)
        .where(eq(buildings.id, buildingId));
      currency = b!.currency;
    }
    const paidAt = input.kind === "payment" ? (input.paidAt ?? tx.now) : (input.paidAt ?? null);
    const values = {
      ...input,
      currency,
      paidAt,
      dueDate: input.dueDate ?? null,
      method: input.method ?? null,
    };
    checkKind(input.kind, values);
    const [row] = await tx.db
      .insert(payments)
      .values({ ...values, buildingId, recordedBy: actorId(tx), syncVersion: version })
      .returning();
    await recordAudit(tx, {
      action: "payment.create",
      entityType: "payment",
      entityId: row!.id,
      buildingId,
      changes: { after: snapshot(row) },
    });
    // A due is announced when it falls due (the payment-due sweep), a payment when it is recorded.
    if (row!.kind === "payment") {
      await recordDomainEvent(tx.db, {
        type: "payment.recorded",
        buildingId,
        actorId: row!.recordedBy,
        data: {
          paymentId: row!.id,
          apartmentId: row!.apartmentId,
          amountMinor: row!.amountMinor,
          currency: row!.currency,
          paidAt: row!.paidAt ? row!.paidAt.toISOString() : null,
        },
      });
    }
    return row!;
  });
}

export async function updatePayment(args: {
  ctx: VerbContext;
  buildingId: string;
  paymentId: string;
  input: PaymentChanges;
  /** Runs on the current row inside the transaction (If-Match checks); throwing aborts the write. */
  precondition?: (before: PaymentRow) => void;
}): Promise<PaymentRow> {
  const { ctx, buildingId, paymentId, input, precondition } = args;
  requireManager(ctx, buildingId);
  return inTransaction(ctx, async (tx) => {
    const version = await bumpBuildingVersion(tx.db, buildingId);
    const before = await findPayment(tx, buildingId, paymentId);
    precondition?.(before);
    checkKind(before.kind, { ...before, ...input });
    const [row] = await tx.db
      .update(payments)
      .set({ ...input, syncVersion: version, updatedAt: tx.now })
      .where(and(eq(payments.id, paymentId), eq(payments.buildingId, buildingId)))
      .returning();
    await recordAudit(tx, {
      action: "payment.update",
      entityType: "payment",
      entityId: paymentId,
      buildingId,
      changes: { before: snapshot(before), after: snapshot(row) },
    });
    return row!;
  });
}

export async function deletePayment(args: {
  ctx: VerbContext;
  buildingId: string;
  paymentId: string;
}): Promise<PaymentRow> {
  const { ctx, buildingId, paymentId } = args;
  requireManager(ctx, buildingId);
  return inTransaction(ctx, async (tx) => {
    const version = await bumpBuildingVersion(tx.db, buildingId);
    const before = await findPayment(tx, buildingId, paymentId);
    const [row] = await tx.db
      .update(payments)
      .set({ deletedAt: tx.now, syncVersion: version, updatedAt: tx.now })
      .where(and(eq(payments.id, paymentId), eq(payments.buildingId, buildingId)))
      .returning();
    await recordAudit(tx, {
      action: "payment.delete",
      entityType: "payment",
      entityId: paymentId,
      buildingId,
      changes: { before: snapshot(before), after: snapshot(row) },
    });
    return row!;
  });
}

export function getPayment(args: { ctx: VerbContext; buildingId: string; paymentId: string }) {
  return findPayment(args.ctx, args.buildingId, args.paymentId);
}

export async function listPayments(args: {
  ctx: VerbContext;
  buildingId: string;
  query: PaginationQuery;
  apartmentId?: string;
  kind?: PaymentRow["kind"];
}) {
  const { ctx, buildingId, query, apartmentId, kind } = args;
  const m = membershipOf(ctx, buildingId);
  let where: SQL | undefined = and(eq(payments.buildingId, buildingId), isNull(payments.deletedAt));
  if (m.role !== "manager") {
    where = and(where, m.apartmentId ? eq(payments.apartmentId, m.apartmentId) : sql`false`);
  }
  if (apartmentId) where = and(where, eq(payments.apartmentId, apartmentId));
  if (kind) where = and(where, eq(payments.kind, kind));
  const own = m.role === "manager" ? "*" : (m.apartmentId ?? "none");
  return listPage<PaymentRow>(ctx, query, {
    table: payments,
    where,
    scope: `payments:${buildingId}:${own}:${apartmentId ?? ""}:${kind ?? ""}`,
    sort: { column: payments.createdAt, id: payments.id, direction: "desc", key: (r) => r.createdAt },
    fetch: (q) =>
      ctx.db
        .select()
        .from(payments)
        .where(q.where)
        .orderBy(...q.orderBy)
        .limit(q.limit)
        .offset(q.offset),
  });
}

/** Dues − payments per currency (currencies are never converted into each other). */
export async function apartmentBalance(args: { ctx: VerbContext; buildingId: string; apartmentId: string }) {
  const { ctx, buildingId, apartmentId } = args;
  const m = membershipOf(ctx, buildingId);
  if (m.role !== "manager" && m.apartmentId !== apartmentId) {
    throw new ApiError("NOT_FOUND", `apartment ${apartmentId} not found`);
  }
  await findApartment(ctx, buildingId, apartmentId);
  const rows = await ctx.db
    .select({
      currency: payments.currency,
      dues: sql<string>`coalesce(sum(${payments.amountMinor}) filter (where ${payments.kind} = 'due'), 0)::text`,
      paid: sql<string>`coalesce(sum(${payments.amountMinor}) filter (where ${payments.kind} = 'payment'), 0)::text`,
    })
    .from(payments)
    .where(
      and(
        eq(payments.buildingId, buildingId),
        eq(payments.apartmentId, apartmentId),
        isNull(payments.deletedAt),
      ),
    )
    .groupBy(payments.currency)
    .orderBy(payments.currency);
  return {
    apartmentId,
    balances: rows.map((r) => {
      const duesMinor = Number(r.dues);
      const paymentsMinor = Number(r.paid);
      return { currency: r.currency, duesMinor, paymentsMinor, balanceMinor: duesMinor - paymentsMinor };
    }),
  };
}
