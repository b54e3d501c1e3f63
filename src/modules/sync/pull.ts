/**
 * Delta pull (design property 25). For each building the caller names with a cursor (the last
 * building version it has fully seen), answer every visible row whose sync_version is above the
 * cursor, oldest version first, in pages that never split a version: a page ends on a version
 * boundary, and a single version larger than the page is sent whole. Consistency without a
 * transaction: the head version is read first and rows are bounded by it; a version is taken under
 * the building row lock and committed in order, so every row at or below a visible head is visible.
 */
import { type SQL, sql } from "drizzle-orm";
import type { EntityChanges, PullResponse, SyncEntity, SyncRow } from "../../client/sync/protocol";
import { isUuid } from "../../http/auth";
import { ApiError } from "../../http/errors";
import type { DbOrTx } from "../../platform/db";
import type { VerbContext } from "../../verbs";
import { type BuildingAccess, loadAccess } from "./access";
import { ENTITIES, type EntityDef, type SyncActor } from "./entities";
import { recordSyncState } from "./state";

export const DEFAULT_PULL_LIMIT = 1000;
export const MAX_PULL_LIMIT = 10_000;

export interface PullInput {
  deviceId?: string;
  buildings: Record<string, number | null>;
  limit?: number;
  pending?: Record<string, number>;
}

interface Change {
  entity: SyncEntity;
  version: number;
  id: string;
  deleted: boolean;
  row: SyncRow | null;
}

const wireColumn = (def: EntityDef, key: string): SQL => {
  const col = def.columns[key]!;
  const ref = sql`${col}`;
  // Timestamps leave as JavaScript's ISO form, so pushed and pulled values compare equal.
  return col.columnType === "PgTimestamp"
    ? sql`to_char(${ref} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`
    : ref;
};

function entitySelect(
  def: EntityDef,
  actor: SyncActor,
  b: string,
  lo: number,
  hi: number,
  live: boolean,
): SQL {
  const t = def.table;
  const pairs = Object.keys(def.columns).map((k) => sql`${k}::text, ${wireColumn(def, k)}`);
  const filter = def.readFilter(actor);
  return sql`select ${def.name}::text as e, ${t.syncVersion} as v, ${t.id} as id,
      (${t.deletedAt} is not null) as d,
      case when ${t.deletedAt} is null then json_build_object(${sql.join(pairs, sql`, `)}) end as r
    from ${t}
    where ${t.buildingId} = ${b}::uuid and ${t.syncVersion} > ${lo} and ${t.syncVersion} <= ${hi}
      ${live ? sql`and ${t.deletedAt} is null` : sql``} ${filter ? sql`and ${filter}` : sql``}`;
}

/**
 * One table alone (the usual delta): order and cut the plain columns first and build the JSON of
 * only the rows kept, above the LIMIT, so the sort never carries (or spills) the JSON text.
 * Same rows and order as the union form: `e` is constant, so (v, id) orders as (v, e, id).
 */
function singleEntityQuery(
  def: EntityDef,
  actor: SyncActor,
  b: string,
  range: { lo: number; hi: number; live: boolean },
  limit?: number,
): SQL {
  const t = def.table;
  const keys = Object.keys(def.columns).filter((k) => k !== "id");
  const inner = keys.map((k) => sql`${def.columns[k]!} as ${sql.identifier(k)}`);
  const pairs = ["id", ...keys].map((k) => {
    const ref = sql`p.${sql.identifier(k)}`;
    return def.columns[k]!.columnType === "PgTimestamp"
      ? sql`${k}::text, to_char(${ref} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`
      : sql`${k}::text, ${ref}`;
  });
  const filter = def.readFilter(actor);
  return sql`select p.e, p.v, p.id, p.d,
      case when not p.d then json_build_object(${sql.join(pairs, sql`, `)}) end as r
    from (select ${def.name}::text as e, ${t.syncVersion} as v, ${t.id} as id,
        (${t.deletedAt} is not null) as d, ${sql.join(inner, sql`, `)}
      from ${t}
      where ${t.buildingId} = ${b}::uuid and ${t.syncVersion} > ${range.lo} and ${t.syncVersion} <= ${range.hi}
        ${range.live ? sql`and ${t.deletedAt} is null` : sql``} ${filter ? sql`and ${filter}` : sql``}
      order by v, id ${limit !== undefined ? sql`limit ${limit}` : sql``}) p`;
}

type RawChange = { e: SyncEntity; v: string | number; id: string; d: boolean; r: SyncRow | null };

/** Visible changes of one building with lo < version <= hi, ordered by version; at most `limit` (if given). */
async function fetchChanges(
  db: DbOrTx,
  actor: SyncActor,
  b: string,
  range: { lo: number; hi: number; live: boolean },
  limit?: number,
  tableHeads?: BuildingAccess["tableHeads"],
): Promise<Change[]> {
  // Tables whose newest row is at or below the cursor cannot contribute: leave them out of the query.
  const defs = Object.values(ENTITIES).filter((def) => {
    if (!tableHeads) return true;
    const top = tableHeads[def.name];
    return top !== null && top !== undefined && top > range.lo;
  });
  if (defs.length === 0) return [];
  const parts = defs.map((def) => entitySelect(def, actor, b, range.lo, range.hi, range.live));
  const query =
    defs.length === 1
      ? singleEntityQuery(defs[0]!, actor, b, range, limit)
      : sql`${sql.join(parts, sql` union all `)} order by v, e, id ${limit !== undefined ? sql`limit ${limit}` : sql``}`;
  const result = (await db.execute(query)) as unknown as { rows: RawChange[] };
  return result.rows.map((r) => {
    const def = ENTITIES[r.e];
    let row = r.r;
    if (row && def.hiddenFields) {
      for (const f of def.hiddenFields(actor, row)) delete row[f];
      row = row as SyncRow;
    }
    return { entity: r.e, version: Number(r.v), id: r.id, deleted: r.d, row };
  });
}

/**
 * One building's page: at most `budget` changes above `cursor`, cut on a version boundary.
 * Returns the changes, the new cursor (every version ≤ it is complete) and whether more remain.
 */
export async function pullBuilding(
  db: DbOrTx,
  access: BuildingAccess,
  cursor: number | null,
  budget: number,
): Promise<{ changes: Change[]; cursor: number; more: boolean }> {
  const { actor, head, buildingId: b } = access;
  const live = cursor === null;
  const lo = cursor ?? -1;
  const fetched = await fetchChanges(db, actor, b, { lo, hi: head, live }, budget + 1, access.tableHeads);
  if (fetched.length <= budget) return { changes: fetched, cursor: head, more: false };
  // The (budget+1)-th change is not sent; neither is anything of its version (it may continue).
  const cut = fetched[budget]!.version;
  const page = fetched.filter((c) => c.version < cut);
  if (page.length > 0) return { changes: page, cursor: cut - 1, more: true };
  // One version alone exceeds the budget: send it whole rather than split it or stall.
  const whole = await fetchChanges(
    db,
    actor,
    b,
    { lo: cut - 1, hi: cut, live },
    undefined,
    access.tableHeads,
  );
  return { changes: whole, cursor: cut, more: cut < head };
}

export async function pullChanges(ctx: VerbContext, input: PullInput): Promise<PullResponse> {
  const user = ctx.actor;
  if (!user) throw new ApiError("UNAUTHENTICATED", "sync needs a signed-in user");
  const limit = Math.min(input.limit ?? DEFAULT_PULL_LIMIT, MAX_PULL_LIMIT);
  const requested = Object.keys(input.buildings).sort();
  const access = await loadAccess(ctx.db, user, requested.filter(isUuid), { tableHeads: true });

  const response: PullResponse = {
    changes: {},
    cursors: {},
    hasMore: false,
    reset: [],
    errors: {},
    clock: null,
  };
  const stale: string[] = [];
  for (const b of requested) {
    const a = access.get(b);
    const cursor = input.buildings[b] ?? null;
    if (!a) {
      response.errors[b] = { code: "NOT_FOUND", detail: "building not found" };
      continue;
    }
    if (a.maxHlc && (!response.clock || a.maxHlc > response.clock)) response.clock = a.maxHlc;
    if (cursor !== null && (cursor < a.floor || cursor > a.head)) stale.push(b);
  }
  if (stale.length) {
    throw new ApiError(
      "RESNAPSHOT_REQUIRED",
      `the cursor of ${stale.length === 1 ? "building" : "buildings"} ${stale.join(", ")} predates the kept tombstones (or is not from this server); pull again with a null cursor`,
      { extensions: { buildings: stale } },
    );
  }

  let budget = limit;
  for (const b of requested) {
    const a = access.get(b);
    if (!a) continue;
    const cursor = input.buildings[b] ?? null;
    if (budget <= 0) {
      response.cursors[b] = cursor;
      response.hasMore = true;
      continue;
    }
    let page: Awaited<ReturnType<typeof pullBuilding>>;
    if (cursor !== null && a.membershipVersion !== null && a.membershipVersion > cursor) {
      // The caller's own membership changed (role, apartment): what they may see changed, so
      // they get a fresh snapshot up to the change, whole, and continue with deltas from there.
      const upto = Math.min(a.membershipVersion, a.head);
      const range = { lo: -1, hi: upto, live: true };
      const changes = await fetchChanges(ctx.db, a.actor, b, range, undefined, a.tableHeads);
      page = { changes, cursor: upto, more: upto < a.head };
      response.reset.push(b);
    } else {
      page = await pullBuilding(ctx.db, a, cursor, budget);
      if (cursor === null) response.reset.push(b);
    }
    budget -= page.changes.length;
    response.cursors[b] = page.cursor;
    response.hasMore ||= page.more;
    for (const c of page.changes) addChange(response, c, cursor === null || response.reset.includes(b));
  }

  if (input.deviceId) {
    await recordSyncState(ctx, {
      userId: user.userId,
      deviceId: input.deviceId,
      entities: Object.keys(ENTITIES),
      pulledAt: ctx.now,
      pending: input.pending,
    });
  }
  return response;
}

function addChange(res: PullResponse, c: Change, snapshot: boolean): void {
  let bucket: EntityChanges | undefined = res.changes[c.entity];
  if (!bucket) {
    bucket = { created: [], updated: [], deleted: [] };
    res.changes[c.entity] = bucket;
  }
  if (c.deleted || !c.row) bucket.deleted.push(c.id);
  // Rows carry no creation version, so a delta sends every live row as an upsert in `updated`;
  // `created` holds the rows of a snapshot (see ADR 0001).
  else if (snapshot) bucket.created.push(c.row);
  else bucket.updated.push(c.row);
}
