/**
 * The producer of `payment.due` domain events: a sweep the hosts run next to the scheduled
 * announcements (standalone: every 30 s; edge: the one-minute Cron Trigger). A due whose date has
 * come (UTC calendar date) gets its event once: the `payment_due_notices` marker is inserted in the
 * same transaction as the event, and a payment already marked is skipped, so concurrent or
 * repeated runs record it once. Dues older than DUE_LOOKBACK_DAYS (a backlog at first deploy) are
 * not announced.
 */
import { sql } from "drizzle-orm";
import { queryRows } from "../../platform/db";
import type { Services } from "../../services";
import { recordDomainEvent } from "../events";
import { publishAfterCommit } from "../realtime/publish";
import { paymentDueNotices } from "./tables";

export const DUE_LOOKBACK_DAYS = 7;
const BATCH = 500;

interface DueRow {
  id: string;
  building_id: string;
  apartment_id: string;
  amount_minor: string | number;
  currency: string;
  due_date: string;
}

/** Records `payment.due` for every due payment that became due; answers how many. */
export async function recordDuePayments(services: Services, options: { now?: Date } = {}): Promise<number> {
  const now = options.now ?? services.clock.now();
  const today = now.toISOString().slice(0, 10);
  const from = new Date(now.getTime() - DUE_LOOKBACK_DAYS * 86_400_000).toISOString().slice(0, 10);
  const db = services.database.db;
  const due = await queryRows<DueRow>(
    db,
    sql`select p.id, p.building_id, p.apartment_id, p.amount_minor, p.currency, to_char(p.due_date, 'YYYY-MM-DD') as due_date
        from payments p
        where p.kind = 'due' and p.deleted_at is null and p.due_date is not null
          and p.due_date <= ${today}::date and p.due_date >= ${from}::date
          and not exists (select 1 from payment_due_notices n where n.payment_id = p.id)
        order by p.due_date limit ${BATCH}`,
  );
  if (!due.length) return 0;
  let recorded = 0;
  await publishAfterCommit(services, () =>
    db.transaction(async (tx) => {
      const marked = await tx
        .insert(paymentDueNotices)
        .values(due.map((d) => ({ paymentId: d.id, dueDate: d.due_date })))
        .onConflictDoNothing()
        .returning({ paymentId: paymentDueNotices.paymentId });
      const fresh = new Set(marked.map((m) => m.paymentId));
      for (const d of due) {
        if (!fresh.has(d.id)) continue;
        await recordDomainEvent(tx, {
          type: "payment.due",
          buildingId: d.building_id,
          actorId: null,
          data: {
            paymentId: d.id,
            apartmentId: d.apartment_id,
            amountMinor: Number(d.amount_minor),
            currency: d.currency,
            dueDate: d.due_date,
          },
        });
        recorded++;
      }
    }),
  );
  if (recorded)
    services.logger.info({ event: "payment_due_recorded", recorded }, "payment due notices recorded");
  return recorded;
}
