/**
 * Delta pull (design property 25). For each building the caller names with a cursor (the last
 * building version it has fully seen), answer every visible row whose sync_version is above the
 * cursor, oldest version first, in pages that never split a version: a page ends on a version
 * boundary, and a single version larger than the page is sent whole.
 *
 * One statement per building does the whole usual pull: the caller's standing (role, apartment,
 * head version, tombstone floor, per-table heads) and the page's rows as JSON text, all from one
 * snapshot — so rows are bounded by a head read in the same snapshot, and a version, taken under
 * the building row lock and committed in order, is either wholly visible or not at all. The
 * standing decides afterwards whether the answer stands (member, cursor within the kept range, own
 * membership unchanged, no table left out that has changes); when it does not, nothing of it is
 * used. It is a prepared statement per set of tables read (Postgres plans each once per
 * connection) whose role filters are SQL over the standing, and its rows go into the response as
 * the JSON text Postgres built, without being parsed and serialized again.
 */
import { type SQL, sql } from "drizzle-orm";
import type { AnyPgColumn } from "drizzle-orm/pg-core";
import { ApiError } from "../../errors";
import { isUuid } from "../../http/auth";
import { utf8Concat } from "../../http/body";
import { type PreparedSql, preparedSql } from "../../platform/db/prepared";
import type { SyncEntity } from "../../protocol/sync";
import { userOf, type VerbContext } from "../../verbs";
import { standing as caller, ENTITIES, type EntityDef } from "./entities";
import { checkPendingCounts, recordPullState } from "./state";

export const DEFAULT_PULL_LIMIT = 1000;
export const MAX_PULL_LIMIT = 10_000;
/** "No limit" for the statement (a page that must be sent whole). */
const UNBOUNDED = 2 ** 31 - 1;

export interface PullInput {
  deviceId?: string;
  buildings: Record<string, number | null>;
  limit?: number;
  pending?: Record<string, number>;
}

/**
 * The statement's parameters, each bound once and referenced by position (Drizzle would bind a
 * placeholder again at every use: 55 values instead of 7).
 */
const PARAMS = ["building", "user", "admin", "now", "lo", "hi", "live", "limit"] as const;
const TYPES = ["uuid", "uuid", "boolean", "timestamptz", "bigint", "bigint", "boolean", "bigint"];
/** The parameters the standing alone uses (a statement reading no table binds only these). */
const STANDING_PARAMS = 4;
const p = (name: (typeof PARAMS)[number]) => {
  const i = PARAMS.indexOf(name);
  return sql.raw(`$${i + 1}::${TYPES[i]}`);
};

/** A piece of a row's JSON text: literal text, or an SQL text expression that is never NULL. */
type Piece = string | SQL;

/** `text` as an SQL string literal. */
const literal = (text: string) => sql.raw(`'${text.replaceAll("'", "''")}'`);

/** JavaScript's ISO form of a timestamp (so pushed and pulled values compare equal), quoted. */
const isoQuoted = (col: AnyPgColumn) =>
  sql`to_char(${col} at time zone 'UTC', '\\"YYYY-MM-DD"T"HH24:MI:SS.MS"Z\\"')`;

/**
 * One column's JSON value as pieces. A nullable column is one expression that falls back to
 * `null` (a NULL would void the whole concatenation); a non-null one leaves its quotes as literal
 * pieces, to be merged with the neighbouring key text.
 */
function jsonValue(def: EntityDef, key: string): Piece[] {
  const col = def.columns[key]!;
  const orNull = (v: SQL): Piece[] => [col.notNull ? v : sql`coalesce(${v}, 'null')`];
  switch (col.columnType) {
    case "PgUUID":
      return col.notNull ? ['"', sql`${col}::text`, '"'] : orNull(sql`'"' || ${col}::text || '"'`);
    case "PgText":
    case "PgDateString":
      return orNull(sql`to_json(${col})::text`);
    case "PgInteger":
    case "PgBigInt53":
      return orNull(sql`${col}::text`);
    case "PgTimestamp":
      return orNull(isoQuoted(col));
    default:
      throw new Error(`sync pull: no JSON encoding for ${def.name}.${key} (${col.columnType})`);
  }
}

/**
 * A row's JSON object as one text expression, written out by hand rather than with
 * json_build_object (about a microsecond per field per row in Postgres's generic path). Adjacent
 * literal text is merged into one constant: Postgres does not fold `(x || 'a') || 'b'`, and every
 * operator is a step it sets up on each execution and runs on each row.
 */
const jsonOf = (def: EntityDef, keys: string[]): SQL => {
  const pieces: Piece[] = keys.flatMap((k, i) => [
    `${i ? "," : "{"}${JSON.stringify(k)}:`,
    ...jsonValue(def, k),
  ]);
  pieces.push("}");
  const merged: Piece[] = [];
  for (const piece of pieces) {
    const last = merged.at(-1);
    if (typeof piece === "string" && typeof last === "string") merged[merged.length - 1] = last + piece;
    else merged.push(piece);
  }
  const parts = merged.map((piece) => (typeof piece === "string" ? literal(piece) : piece));
  return sql`(${sql.join(parts, sql` || `)})`;
};

/** A live row as the client receives it: every column, less those the caller's role may not read here. */
function rowJson(def: EntityDef): SQL {
  const all = Object.keys(def.columns);
  const full = jsonOf(def, all);
  const hides = def.residentHides;
  if (!hides) return full;
  const partial = jsonOf(
    def,
    all.filter((k) => !hides.fields.includes(k)),
  );
  return sql`case when ${caller.role} = 'manager' or ${hides.when} then ${full} else ${partial} end`;
}

/**
 * The first `limit` changes of one table the caller may read, in (lo, min(head, hi)] by version,
 * as (entity, version, id, deleted, JSON text). The standing is the one outer row of a lateral
 * join (constants to this read), so the (building_id, sync_version) index yields the rows in
 * order and a row's JSON is built only when the row is taken.
 */
function changes(def: EntityDef): SQL {
  const t = def.table;
  const reads = def.residentReads ? sql`and (${caller.role} = 'manager' or ${def.residentReads})` : sql``;
  // A row a resident may not see yet goes as a deletion (they may hold it from before it was hidden).
  const gone = def.residentHidden
    ? sql`(${t.deletedAt} is not null or (${caller.role} <> 'manager' and ${def.residentHidden}))`
    : sql`(${t.deletedAt} is not null)`;
  return sql`(select ${sql.raw(`'${def.name}'`)}::text as e, ${t.syncVersion} as v, ${t.id} as id,
      ${gone} as d, case when not ${gone} then ${rowJson(def)} end as r
    from ${t}
    where ${t.buildingId} = ${p("building")}
      and ${t.syncVersion} > ${p("lo")} and ${t.syncVersion} <= least(${caller.head}, ${p("hi")})
      and (not ${p("live")} or not ${gone}) ${reads}
    order by v limit ${p("limit")})`;
}

type StatementRow = {
  e: SyncEntity | "access";
  /** sync_version (a bigint: a string from node-postgres) */
  v: string | number | null;
  id: string | null;
  d: boolean | null;
  r: string | null;
};
type Standing = {
  head: number;
  floor: number;
  maxHlc: string | null;
  eff: "manager" | "resident" | null;
  mversion: number | null;
  /** The building's newest version per entity (no key: never written). */
  heads: Record<string, number | null> | null;
};

/** The synced entities in a fixed order: bit i of a table mask is DEFS[i]. */
const DEFS = Object.values(ENTITIES);
const ALL_TABLES = (1 << DEFS.length) - 1;

/**
 * The statement reading the tables of `mask`: `acc` is the caller's standing (no row: no such
 * building), sent first as JSON with the building's per-entity heads; then, for a member, the first
 * `limit` changes of those tables in version order, a merge of their ordered reads — so however
 * large the backlog, only about a page of rows is read and encoded. The reads are lateral to `acc`
 * rather than filtered by scalar subqueries over it: a subquery is a plan node of its own, set up
 * on every execution (up to four per table): about 20 µs of the 130–150 µs a pull of no rows took.
 * A table is left out when its head shows it has nothing above the cursor: Postgres sets up every
 * table's read (its row JSON included) on each execution, rows or not, about 10 µs a table.
 */
function buildStatement(mask: number): SQL {
  const defs = DEFS.filter((_, i) => mask & (1 << i));
  const access = sql`with acc as (
      select b.id as building_id, b.sync_version as head, coalesce(f.floor_version, 0) as floor,
             f.max_hlc, m.apartment_id, m.sync_version as mversion, ${p("user")} as user_id, ${p("now")} as now,
             coalesce(m.role, case when ${p("admin")} then 'manager' end) as eff, h.heads
      from buildings b
      left join memberships m
        on m.building_id = b.id and m.user_id = ${p("user")} and m.deleted_at is null
      left join sync_tombstone_floors f on f.building_id = b.id
      left join sync_entity_heads h on h.building_id = b.id
      where b.id = ${p("building")} and b.deleted_at is null)
    select 'access' as e, null::bigint as v, null::uuid as id, null::boolean as d,
      json_build_object('head', acc.head, 'floor', acc.floor, 'maxHlc', acc.max_hlc, 'eff', acc.eff,
        'mversion', acc.mversion, 'heads', acc.heads)::text as r
    from acc`;
  if (defs.length === 0) return access;
  return sql`${access}
    union all
    (select u.* from acc cross join lateral (
      select * from (${sql.join(defs.map(changes), sql` union all `)}) page order by page.v limit ${p("limit")}) u
    where acc.eff is not null)`;
}

/** The prepared statement of each table mask, made on first use (a handful are used in practice). */
const statements = new Map<number, PreparedSql<StatementRow>>();
function pullStatement(mask: number): PreparedSql<StatementRow> {
  let statement = statements.get(mask);
  if (!statement) {
    // Without tables the statement uses only the standing's parameters (Postgres cannot type
    // a parameter the text never mentions).
    statement = preparedSql(
      `horizon_sync_pull_v5_${mask}`,
      () => buildStatement(mask),
      mask ? PARAMS : PARAMS.slice(0, STANDING_PARAMS),
    );
    statements.set(mask, statement);
  }
  return statement;
}

/** The tables with a change above `lo` according to `heads` (an entity never written has no head). */
function tablesAbove(heads: Record<string, number | null> | null, lo: number): number {
  let mask = 0;
  for (const [i, def] of DEFS.entries()) if ((heads?.[def.name] ?? -1) > lo) mask |= 1 << i;
  return mask;
}

/**
 * The per-entity heads this process last saw of each building (bounded): which tables a pull
 * reads. A guess — the statement answers the heads of the same snapshot as its rows, and a table
 * it left out whose head is above the cursor after all (written since) is read at once.
 */
const headsSeen = new WeakMap<object, Map<string, Record<string, number | null> | null>>();
const HEADS_KEPT = 10_000;

interface PageRange {
  lo: number;
  hi: number;
  live: boolean;
  limit: number;
}

/** Rows of one building's page, bucketed as JSON text, ready to be written into the response. */
interface Buckets {
  upserts: Map<SyncEntity, string[]>;
  deleted: Map<SyncEntity, string[]>;
}

/**
 * One building's page in `range` (lo, hi], from the tables that have changes there: those the
 * building's last seen heads name, then, if the answer's own heads show a table left out has
 * changes above `lo` (written since), again with those tables — and, should that race a write
 * too, with every table. A range with an upper bound (the rare paths) reads every table.
 */
async function pullPage(
  ctx: VerbContext,
  buildingId: string,
  range: PageRange,
): Promise<{ standing: Standing | null; rows: StatementRow[] }> {
  const bounded = range.hi < Number.MAX_SAFE_INTEGER;
  let seen = headsSeen.get(ctx.services.database);
  if (!seen) {
    seen = new Map();
    headsSeen.set(ctx.services.database, seen);
  }
  const known = seen.get(buildingId);
  let mask = bounded || known === undefined ? ALL_TABLES : tablesAbove(known, range.lo);
  for (let attempt = 1; ; attempt++) {
    const answer = await runPull(ctx, buildingId, range, mask);
    const standing = answer.standing;
    if (!standing?.eff) return answer;
    if (seen.size >= HEADS_KEPT) seen.clear();
    seen.set(buildingId, standing.heads);
    const needed = tablesAbove(standing.heads, range.lo);
    if ((needed & ~mask) === 0) return answer;
    mask = attempt === 1 ? mask | needed : ALL_TABLES;
  }
}

async function runPull(
  ctx: VerbContext,
  buildingId: string,
  range: PageRange,
  mask: number,
): Promise<{ standing: Standing | null; rows: StatementRow[] }> {
  const user = userOf(ctx)!;
  const out = await pullStatement(mask)(ctx.db, {
    building: buildingId,
    user: user.userId,
    admin: user.isAdmin,
    now: ctx.now.toISOString(),
    lo: range.lo,
    hi: range.hi,
    live: range.live,
    limit: range.limit,
  });
  let standing: Standing | null = null;
  const rows: StatementRow[] = [];
  for (const row of out) {
    if (row.e !== "access") rows.push(row);
    else {
      // Versions are bigints: JSON numbers here (exact below 2^53, as versions are).
      const s = JSON.parse(row.r!) as Standing;
      standing = {
        head: Number(s.head),
        floor: Number(s.floor),
        maxHlc: s.maxHlc ?? null,
        eff: s.eff ?? null,
        mversion: s.mversion === null ? null : Number(s.mversion),
        heads: s.heads ?? null,
      };
    }
  }
  return { standing, rows };
}

function bucket(into: Buckets, rows: StatementRow[]): number {
  for (const row of rows) {
    const e = row.e as SyncEntity;
    const list = row.d ? into.deleted : into.upserts;
    let bucket = list.get(e);
    if (!bucket) {
      bucket = [];
      list.set(e, bucket);
    }
    bucket.push(row.d ? JSON.stringify(row.id) : row.r!);
  }
  return rows.length;
}

/** The serialized pull response (see PullResponse in the client protocol), as UTF-8 bytes where the runtime can write them directly. */
export async function pullChanges(
  ctx: VerbContext,
  input: PullInput,
): Promise<Uint8Array<ArrayBuffer> | string> {
  const user = userOf(ctx);
  if (!user) throw new ApiError("UNAUTHENTICATED", "sync needs a signed-in user");
  checkPendingCounts(input.pending);
  const limit = Math.min(input.limit ?? DEFAULT_PULL_LIMIT, MAX_PULL_LIMIT);
  const requested = Object.keys(input.buildings).sort();

  const cursors: Record<string, number | null> = {};
  const errors: Record<string, { code: string; detail: string }> = {};
  const reset: string[] = [];
  const stale: string[] = [];
  const snapshot: Buckets = { upserts: new Map(), deleted: new Map() };
  const delta: Buckets = { upserts: new Map(), deleted: new Map() };
  let clock: string | null = null;
  let hasMore = false;
  let budget = limit;

  for (const b of requested) {
    const cursor = input.buildings[b] ?? null;
    if (!isUuid(b)) {
      errors[b] = { code: "NOT_FOUND", detail: "building not found" };
      continue;
    }
    if (budget <= 0) {
      // The page is full: later buildings keep their cursors and come next time.
      cursors[b] = cursor;
      hasMore = true;
      continue;
    }
    const live = cursor === null;
    const range = { lo: cursor ?? -1, hi: Number.MAX_SAFE_INTEGER, live, limit: budget + 1 };
    let { standing, rows } = await pullPage(ctx, b, range);
    if (!standing?.eff) {
      errors[b] = { code: "NOT_FOUND", detail: "building not found" };
      continue;
    }
    if (standing.maxHlc && (!clock || standing.maxHlc > clock)) clock = standing.maxHlc;
    if (cursor !== null && (cursor < standing.floor || cursor > standing.head)) {
      stale.push(b);
      continue;
    }
    let next = standing.head;
    let full = cursor === null;
    if (cursor !== null && standing.mversion !== null && standing.mversion > cursor) {
      // The caller's own membership changed (role, apartment): what they may see changed, so
      // they get a fresh snapshot up to the change, whole, and continue with deltas from there.
      next = Math.min(standing.mversion, standing.head);
      ({ rows } = await pullPage(ctx, b, { lo: -1, hi: next, live: true, limit: UNBOUNDED }));
      full = true;
      hasMore ||= next < standing.head;
    } else if (rows.length > budget) {
      // Full page (the statement read one row more than the budget): it ends before its last
      // version, which may continue past the page.
      const cut = rows.reduce((top, row) => Math.max(top, Number(row.v)), 0);
      rows = rows.filter((row) => Number(row.v) < cut);
      if (rows.length > 0) next = cut - 1;
      else {
        // One version alone exceeds the budget: send it whole rather than split it or stall.
        ({ rows } = await pullPage(ctx, b, { lo: cut - 1, hi: cut, live, limit: UNBOUNDED }));
        next = cut;
      }
      hasMore ||= next < standing.head;
    }
    if (full) reset.push(b);
    cursors[b] = next;
    budget -= bucket(full ? snapshot : delta, rows);
  }
  if (stale.length) {
    throw new ApiError(
      "RESNAPSHOT_REQUIRED",
      `the cursor of ${stale.length === 1 ? "building" : "buildings"} ${stale.join(", ")} predates the kept tombstones (or is not from this server); pull again with a null cursor`,
      { extensions: { buildings: stale } },
    );
  }

  if (input.deviceId) {
    await recordPullState(ctx, {
      userId: user.userId,
      deviceId: input.deviceId,
      entities: Object.keys(ENTITIES),
      pulledAt: ctx.now,
      pending: input.pending,
    });
  }
  return serialize({ snapshot, delta, cursors, hasMore, reset, errors, clock });
}

/**
 * Rows of a snapshot (or a reset building) go to `created`, rows of a delta to `updated` — rows
 * carry no creation version, so a delta sends every live row as an upsert (see ADR 0001).
 */
function serialize(r: {
  snapshot: Buckets;
  delta: Buckets;
  cursors: Record<string, number | null>;
  hasMore: boolean;
  reset: string[];
  errors: Record<string, { code: string; detail: string }>;
  clock: string | null;
}): Uint8Array<ArrayBuffer> | string {
  const entities = Object.keys(ENTITIES) as SyncEntity[];
  // The response as pieces, in order: the rows' JSON text goes in as Postgres built it.
  const out: string[] = ['{"changes":{'];
  const list = (xs: string[]) => {
    for (const [i, x] of xs.entries()) out.push(i ? "," : "", x);
  };
  let first = true;
  for (const e of entities) {
    const created = r.snapshot.upserts.get(e);
    const updated = r.delta.upserts.get(e);
    const gone = [...(r.snapshot.deleted.get(e) ?? []), ...(r.delta.deleted.get(e) ?? [])];
    if (!created && !updated && gone.length === 0) continue;
    out.push(`${first ? "" : ","}${JSON.stringify(e)}:{"created":[`);
    list(created ?? []);
    out.push('],"updated":[');
    list(updated ?? []);
    out.push('],"deleted":[');
    list(gone);
    out.push("]}");
    first = false;
  }
  const rest = JSON.stringify({
    cursors: r.cursors,
    hasMore: r.hasMore,
    reset: r.reset,
    errors: r.errors,
    clock: r.clock,
  });
  out.push(`},${rest.slice(1)}`);
  return utf8Concat(out);
}
