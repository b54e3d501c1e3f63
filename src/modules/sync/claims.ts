/**
 * The idempotency record of pushed ops (ADR 0002). An op id of the SDK's form `<stream>:<seq>`
 * (its device id and a counter) is recorded in a run: `sync_op_runs` holds, per user and stream,
 * ranges of consecutive seqs with the result each op was first answered — a 500-op push of one
 * device is one row, not 500. Any other op id is a run of its own (its whole id the stream, seq
 * -1). An exclusion constraint keeps a user's runs of one stream from overlapping, so an op is
 * recorded at most once however its pushes are cut into batches. Ops are claimed and their
 * results stored in one statement at the end of the transaction that applied them; a claim that
 * finds an op already recorded means another transaction got there first, and this attempt must
 * roll back. Each op is recorded with a fingerprint of its content, so an op id used again for a
 * different op (a reinstalled app whose counter restarted) is refused, not answered the first
 * op's result.
 */
import { type SQL, sql } from "drizzle-orm";
import { type DbOrTx, hasDbError, isUniqueViolation, queryRows } from "../../platform/db";
import type { OpResult } from "../../protocol/sync";
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

/** A stored result: without its opId (the op's own id), or with it (records from before that). */
type Stored = Omit<OpResult, "opId"> | null;
/**
 * A run's results: the distinct ones, which of them each op got (absent: all the first), and each
 * op's fingerprint (see opFingerprint; absent in records from before fingerprints).
 */
interface RunResults {
  d: Stored[];
  w?: number[];
  h?: string[];
}

/**
 * cyrb53 (a fast 53-bit string hash, not cryptographic), fed piece by piece: each piece goes in
 * with its length first, so no two sequences of pieces hash alike by where they split.
 */
class Hash53 {
  private h1 = 0xdeadbeef;
  private h2 = 0x41c6ce57;

  add(text: string): this {
    let h1 = Math.imul(this.h1 ^ text.length, 2654435761);
    let h2 = Math.imul(this.h2 ^ text.length, 1597334677);
    for (let i = 0; i < text.length; i++) {
      const ch = text.charCodeAt(i);
      h1 = Math.imul(h1 ^ ch, 2654435761);
      h2 = Math.imul(h2 ^ ch, 1597334677);
    }
    this.h1 = h1;
    this.h2 = h2;
    return this;
  }

  digest(): string {
    let h1 = Math.imul(this.h1 ^ (this.h1 >>> 16), 2246822507);
    h1 ^= Math.imul(this.h2 ^ (this.h2 >>> 13), 3266489909);
    let h2 = Math.imul(this.h2 ^ (this.h2 >>> 16), 2246822507);
    h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    return base36(4294967296 * (2097151 & h2) + (h1 >>> 0));
  }
}

const DIGITS36 = "0123456789abcdefghijklmnopqrstuvwxyz";

/**
 * `n.toString(36)` for an integer 0 ≤ n < 2^53, in a quarter of its time (V8 formats a double in
 * radix 36 through its general radix path: ~0.8 µs, half of a fingerprint). `%` and the division
 * of an exact multiple are exact on doubles, so every digit is.
 */
export function base36(n: number): string {
  let out = "";
  do {
    const digit = n % 36;
    out = DIGITS36[digit] + out;
    n = (n - digit) / 36;
  } while (n > 0);
  return out;
}

/** A field value's text as hashed (after its type): itself for a string, else its JSON. */
function valueText(value: unknown): string {
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value) ?? "";
  } catch {
    // Nested too deep to serialize (no synced field takes such a value: the op is rejected).
    return "";
  }
}

/**
 * What an op says — kind, entity, row id, clock as sent, fields by sorted key — as a short hash
 * stored with its record: a replay (same id, same content) is answered its first result, an op id
 * used again for a different op is refused (OP_ID_REUSED). Not cryptographic: both ops are the
 * same user's own, so the hash only has to tell a replay from another op. Stored fingerprints
 * must keep matching: change this function and every replay of an op recorded before would be
 * refused as reused (a new scheme needs its own marker in the run, read beside the old).
 */
export function opFingerprint(op: {
  type: string;
  entity: string;
  id: string;
  hlc: string;
  fields?: Record<string, unknown>;
}): string {
  const h = new Hash53().add(op.type).add(op.entity).add(op.id).add(op.hlc);
  const fields = op.fields ?? {};
  const keys = Object.keys(fields);
  // Usually in the same order as sent the first time, often already sorted.
  for (let i = 1; i < keys.length; i++)
    if (keys[i - 1]! > keys[i]!) {
      keys.sort();
      break;
    }
  for (const key of keys) {
    const value = fields[key];
    h.add(key)
      .add(typeof value)
      .add(valueText(value));
  }
  return h.digest();
}

/** What is recorded of an op: its result (null: claimed before results were stored) and fingerprint. */
export interface Recorded {
  result: OpResult | null;
  fingerprint?: string;
}

/** `<stream>:<seq>` with a canonical decimal seq (no sign, no leading zero). */
const SEQUENCED = /^(.+):(0|[1-9][0-9]{0,14})$/;

/** Where an op id is recorded: its stream and its place in it (-1: an id of no sequence). */
export function opPlace(opId: string): { stream: string; seq: number } {
  const m = SEQUENCED.exec(opId);
  return m ? { stream: m[1]!, seq: Number(m[2]) } : { stream: opId, seq: -1 };
}

const decode = (opId: string, stored: Stored): OpResult | null => stored && { opId, ...stored };

/** Results recorded for any of `opIds` (null: claimed by a transaction from before results were stored with the claim). */
export async function recordedResults(
  db: DbOrTx,
  userId: string,
  opIds: string[],
): Promise<Map<string, OpResult | null>> {
  const out = new Map<string, OpResult | null>();
  for (const [opId, r] of await recordedOps(db, userId, opIds)) out.set(opId, r.result);
  return out;
}

/** What is recorded of any of `opIds`: result and fingerprint. */
export async function recordedOps(
  db: DbOrTx,
  userId: string,
  opIds: string[],
): Promise<Map<string, Recorded>> {
  // One look-up per stream, for the runs overlapping the span of its ops' seqs.
  const places = opIds.map(opPlace);
  const spans = new Map<string, { lo: number; hi: number }>();
  for (const { stream, seq } of places) {
    const span = spans.get(stream);
    if (!span) spans.set(stream, { lo: seq, hi: seq });
    else if (seq < span.lo) span.lo = seq;
    else if (seq > span.hi) span.hi = seq;
  }
  const found = await queryRows<{
    stream: string;
    first_seq: string | number;
    last_seq: string | number;
    results: RunResults | string;
  }>(
    db,
    sql`
    select r.stream, r.first_seq, r.last_seq, r.results
    from unnest(${arrayLiteral([...spans.keys()])}::text[],
                ${`{${[...spans.values()].map((s) => s.lo).join(",")}}`}::bigint[],
                ${`{${[...spans.values()].map((s) => s.hi).join(",")}}`}::bigint[]) as q(stream, lo, hi)
    join sync_op_runs r on r.user_id = ${userId} and r.stream = q.stream
      and int8range(r.first_seq, r.last_seq, '[]') && int8range(q.lo, q.hi, '[]')`,
  );
  const runs = new Map<string, Array<{ first: number; last: number; results: RunResults }>>();
  for (const row of found) {
    const list = runs.get(row.stream) ?? [];
    list.push({
      first: Number(row.first_seq),
      last: Number(row.last_seq),
      results: typeof row.results === "string" ? JSON.parse(row.results) : row.results,
    });
    runs.set(row.stream, list);
  }
  const out = new Map<string, Recorded>();
  for (const [i, opId] of opIds.entries()) {
    const { stream, seq } = places[i]!;
    const run = runs.get(stream)?.find((r) => r.first <= seq && seq <= r.last);
    if (!run) continue;
    const k = run.results.w ? run.results.w[seq - run.first]! : 0;
    out.set(opId, {
      result: decode(opId, run.results.d[k] ?? null),
      fingerprint: run.results.h?.[seq - run.first],
    });
  }
  return out;
}

/** A write sent in the claim statement; in a strict claim, a unique violation of `rerunOn` means Rerun. */
export interface Alongside {
  write: SQL;
  rerunOn?: string;
  why?: string;
}

interface Run {
  s: string;
  f: number;
  l: number;
  r: RunResults;
}

/** Do two results say the same, opIds aside? (Most ops of a batch answer alike, in a row.) */
function sameResult(a: OpResult, b: OpResult): boolean {
  let keys = 0;
  for (const k in a) {
    if (k === "opId") continue;
    keys++;
    const x = a[k as keyof OpResult];
    const y = b[k as keyof OpResult];
    if (x === y) continue;
    if (!Array.isArray(x) || !Array.isArray(y) || x.length !== y.length) return false;
    if (x.some((v, i) => v !== y[i])) return false;
  }
  for (const k in b) if (k !== "opId") keys--;
  return keys === 0;
}

/** An op to record: its id, its result and its fingerprint (opFingerprint). */
export interface ToRecord {
  opId: string;
  result: OpResult;
  fingerprint: string;
}

type Placed = { stream: string; seq: number; result: OpResult; fingerprint: string };
const byPlace = (a: Placed, b: Placed) =>
  a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : a.seq - b.seq;

/**
 * The runs recording `results`: per stream, maximal ranges of consecutive seqs, each with its
 * ops' distinct results (opIds left out) and, when they differ, which one each op got.
 */
function runsOf(results: ToRecord[]): Run[] {
  const placed: Placed[] = new Array(results.length);
  let sorted = true;
  for (const [i, { opId, result, fingerprint }] of results.entries()) {
    const { stream, seq } = opPlace(opId);
    placed[i] = { stream, seq, result, fingerprint };
    if (i > 0 && sorted && byPlace(placed[i - 1]!, placed[i]!) > 0) sorted = false;
  }
  // A push's ops are usually in seq order already.
  if (!sorted) placed.sort(byPlace);
  const runs: Run[] = [];
  let run: Run | undefined;
  let texts = new Map<string, number>();
  let which: number[] = [];
  let previous: OpResult | undefined;
  const close = () => {
    if (run && run.r.d.length > 1) run.r.w = which;
  };
  for (const { stream, seq, result, fingerprint } of placed) {
    if (run && run.s === stream && seq === run.l + 1) run.l = seq;
    else {
      close();
      run = { s: stream, f: seq, l: seq, r: { d: [], h: [] } };
      runs.push(run);
      texts = new Map();
      which = [];
      previous = undefined;
    }
    run.r.h!.push(fingerprint);
    // Like the op before it (the usual case): no need to serialize it to find its index.
    if (previous && sameResult(previous, result)) {
      which.push(which[which.length - 1]!);
      continue;
    }
    previous = result;
    const { opId: _, ...rest } = result;
    const text = JSON.stringify(rest);
    let k = texts.get(text);
    if (k === undefined) {
      k = run.r.d.length;
      texts.set(text, k);
      run.r.d.push(rest);
    }
    which.push(k);
  }
  close();
  return runs;
}

/** Did `err` (or a cause) come from an op of the claim being recorded already, by another transaction? */
const isRecorded = (err: unknown): boolean =>
  hasDbError(
    err,
    (e) =>
      (e.code === "23P01" && String(e.constraint ?? e.message).includes("sync_op_runs_no_overlap")) ||
      // Two plain inserts of overlapping runs each find the other's uncommitted run and wait on it:
      // Postgres ends one with a deadlock, and that one reruns (and finds the other's ops recorded).
      e.code === "40P01",
  );

/**
 * Claims each op with its result, as runs sorted by stream and seq so overlapping duplicate
 * batches wait on each other instead of deadlocking. Returns how many ops were claimed: fewer
 * than given means some op was already recorded (by a replayed or concurrent duplicate push).
 * With `strict` (a batch that did not look for recorded ops first) a plain INSERT is used,
 * cheaper than ON CONFLICT's speculative insertion, and a recorded op surfaces as Rerun.
 */
export async function claimOps(
  db: DbOrTx,
  userId: string,
  deviceId: string,
  results: ToRecord[],
  strict = false,
  alongside: Alongside[] = [],
): Promise<number> {
  if (results.length === 0) return 0;
  const runs = runsOf(results);
  // Other writes of the same transaction ride in this statement as CTEs (one round trip).
  const ctes = alongside.map((a, i) => sql`${sql.identifier(`w${i}`)} as (${a.write})`);
  const insert = sql`${ctes.length ? sql`with ${sql.join(ctes, sql`, `)} ` : sql``}
    insert into sync_op_runs (user_id, stream, first_seq, last_seq, device_id, results)
    select ${userId}::uuid, x.s, x.f, x.l, ${deviceId}, x.r
    from json_to_recordset(${JSON.stringify(runs)}::json) as x(s text, f bigint, l bigint, r json)`;
  if (strict) {
    try {
      await db.execute(insert);
    } catch (err) {
      if (isRecorded(err)) throw new Rerun("an op of this push was recorded by another transaction");
      const hit = alongside.find((a) => a.rerunOn && isUniqueViolation(err, a.rerunOn));
      throw hit ? new Rerun(hit.why ?? "an optimistic assumption failed") : err;
    }
    return results.length;
  }
  const claimed = await queryRows<{ n: string | number }>(
    db,
    sql`${insert} on conflict do nothing returning last_seq - first_seq + 1 as n`,
  );
  return claimed.reduce((sum, r) => sum + Number(r.n), 0);
}

/**
 * The answer to an op recorded before: its stored result if the op is the same, OP_ID_REUSED if
 * its id was first used for another op (a record from before fingerprints counts as the same).
 */
export function answerRecorded(opId: string, fingerprint: string, recorded: Recorded): OpResult {
  if (recorded.fingerprint !== undefined && recorded.fingerprint !== fingerprint) return opIdReused(opId);
  return recorded.result ?? { opId, status: "rejected", reason: "IN_PROGRESS", detail: "retry" };
}

export const opIdReused = (opId: string): OpResult => ({
  opId,
  status: "rejected",
  reason: "OP_ID_REUSED",
  detail: `op id ${opId} was already used for a different op; give every op an id of its own`,
});

/** Records one op's result on its own; if the op was recorded meanwhile, answers as for a recorded op. */
export async function storeResult(
  db: DbOrTx,
  userId: string,
  deviceId: string,
  op: ToRecord,
): Promise<OpResult> {
  if ((await claimOps(db, userId, deviceId, [op])) === 1) return op.result;
  const recorded = (await recordedOps(db, userId, [op.opId])).get(op.opId);
  return recorded ? answerRecorded(op.opId, op.fingerprint, recorded) : op.result;
}
