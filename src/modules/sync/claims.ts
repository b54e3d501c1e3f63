/**
 * The idempotency record of pushed ops (ADR 0002): `sync_processed_ops` holds each op under
 * (user, opId) with the result it was first answered. An op is claimed and its result stored in
 * one statement at the end of the transaction that applied it; a claim that finds the op already
 * recorded means another transaction got there first, and this attempt must roll back.
 */
import { type SQL, sql } from "drizzle-orm";
import type { OpResult } from "../../client/sync/protocol";
import { type DbOrTx, queryRows } from "../../platform/db";
import { arrayLiteral } from "./working-set";

/**
 * An optimistic attempt's assumption did not hold — another transaction recorded one of the
 * batch's ops first, or a row the batch creates exists already — so the attempt is rolled back,
 * having changed nothing, and rerun with look-ups.
 */
export class Rerun extends Error {
  constructor(why: string) {
    super(why);
  }
}

/** Did `err` come from a unique violation of `constraint`? */
export function isUniqueViolation(err: unknown, constraint: string): boolean {
  for (let e: any = err, i = 0; e && i < 5; e = e.cause, i++) {
    if (e.code === "23505" && String(e.constraint ?? e.message).includes(constraint)) return true;
  }
  return false;
}

/** A stored result: without its opId (the row's op_id), or with it (records from before that). */
type Stored = Omit<OpResult, "opId"> | string | null;
const decode = (opId: string, r: Stored): OpResult | null => {
  const stored = typeof r === "string" ? JSON.parse(r) : r;
  return stored && { opId, ...stored };
};

/** Results recorded for any of `opIds` (null: claimed by a transaction from before results were stored with the claim). */
export async function recordedResults(
  db: DbOrTx,
  userId: string,
  opIds: string[],
): Promise<Map<string, OpResult | null>> {
  const prior = await queryRows<{ op_id: string; result: Stored }>(
    db,
    sql`
    select op_id, result from sync_processed_ops
    where user_id = ${userId} and op_id = any(${arrayLiteral(opIds)}::text[])`,
  );
  return new Map(prior.map((r) => [r.op_id, decode(r.op_id, r.result)]));
}

/** A write sent in the claim statement; in a strict claim, a unique violation of `rerunOn` means Rerun. */
export interface Alongside {
  write: SQL;
  rerunOn?: string;
  why?: string;
}

/**
 * Claims each op with its result, sorted by op id so overlapping duplicate batches wait on each
 * other instead of deadlocking. Returns how many were claimed: fewer than given means some op
 * was already recorded (by a replayed or concurrent duplicate push). With `strict` (a batch that
 * did not look for recorded ops first) a plain INSERT is used, which costs about half of
 * ON CONFLICT's speculative insertion, and a recorded op surfaces as Rerun.
 */
export async function claimOps(
  db: DbOrTx,
  userId: string,
  deviceId: string,
  results: Array<{ opId: string; result: OpResult }>,
  strict = false,
  alongside: Alongside[] = [],
): Promise<number> {
  if (results.length === 0) return 0;
  const sorted = [...results].sort((a, b) => (a.opId < b.opId ? -1 : a.opId > b.opId ? 1 : 0));
  // A result is stored without its opId (the row's op_id), and each distinct one travels once:
  // the ops of a batch mostly share one (applied, at the batch's version and building), so a
  // 500-op claim sends its op ids, an index per op and a result or two — not 500 results.
  const distinct = new Map<string, number>();
  const ids: string[] = [];
  const which: number[] = [];
  for (const { opId, result } of sorted) {
    const { opId: _, ...rest } = result;
    const text = JSON.stringify(rest);
    if (!distinct.has(text)) distinct.set(text, distinct.size + 1);
    ids.push(opId);
    which.push(distinct.get(text)!);
  }
  // Other writes of the same transaction ride in this statement as CTEs (one round trip).
  const ctes = alongside.map((a, i) => sql`${sql.identifier(`w${i}`)} as (${a.write})`);
  const insert = sql`${ctes.length ? sql`with ${sql.join(ctes, sql`, `)} ` : sql``}
    insert into sync_processed_ops (user_id, op_id, device_id, result)
    select ${userId}::uuid, x.op_id, ${deviceId}, (${arrayLiteral([...distinct.keys()])}::json[])[x.i]
    from unnest(${arrayLiteral(ids)}::text[], ${`{${which.join(",")}}`}::int[]) as x(op_id, i)`;
  if (strict) {
    try {
      await db.execute(insert);
    } catch (err) {
      if (isUniqueViolation(err, "sync_processed_ops_pkey"))
        throw new Rerun("an op of this push was recorded by another transaction");
      const hit = alongside.find((a) => a.rerunOn && isUniqueViolation(err, a.rerunOn));
      throw hit ? new Rerun(hit.why ?? "an optimistic assumption failed") : err;
    }
    return ids.length;
  }
  return (await queryRows(db, sql`${insert} on conflict do nothing returning 1`)).length;
}

/** Records one op's result on its own; if the op was recorded meanwhile, answers that result instead. */
export async function storeResult(
  db: DbOrTx,
  userId: string,
  deviceId: string,
  result: OpResult,
): Promise<OpResult> {
  if ((await claimOps(db, userId, deviceId, [{ opId: result.opId, result }])) === 1) return result;
  return (await recordedResults(db, userId, [result.opId])).get(result.opId) ?? result;
}
