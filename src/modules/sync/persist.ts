/**
 * Writes a push batch back in a handful of statements: new rows, changed rows (one upsert per
 * entity, each row carrying its field clocks), the cascades of deletes, the conflicts with one
 * `sync.conflict` outbox event each (same transaction: a conflict is never recorded without its
 * notification), and the ops with their results, which makes replays idempotent. Returns how many ops it recorded.
 */
import { getTableColumns, getTableName, is, SQL, sql } from "drizzle-orm";
import type { AnyPgColumn } from "drizzle-orm/pg-core";
import { compareHlc, formatHlc, parseHlc } from "../../client/sync/hlc";
import { syncConflicts } from "../../db/schema";
import { type DbOrTx, isUniqueViolation } from "../../platform/db";
import type { OpResult, SyncEntity } from "../../protocol/sync";
import { recordDomainEvent, recordDomainEvents } from "../events";
import { recordEvents } from "../outbox/record";
import type { BatchState } from "./apply";
import { type Alongside, claimOps, Rerun } from "./claims";
import { packClocks } from "./clocks";
import { SYNC_CONFLICT_TOPIC } from "./conflict-events";
import { batchDomainEvents } from "./domain-events";
import { ENTITIES } from "./entities";
import { cascadeDeletes, type Work } from "./working-set";

interface UpsertPlan {
  names: SQL;
  /** The recordset's column list: each column under its JavaScript key, with its SQL type. */
  recordset: SQL;
  /**
   * The inserted values: every column as the row holds it, or as `shared` holds it for every row.
   * With `fresh` (the batch's time), NOT NULL columns a new row leaves out get their defaults.
   */
  values: (shared: Map<string, unknown>, fresh: Date | null) => SQL;
  writable: SQL;
  /** Keys of the timestamp columns (written as ISO text before the rows are serialized). */
  timeKeys: string[];
  /** Of those, the NOT NULL ones defaulting to now(): a new row stamped with the batch's time leaves them to the statement. */
  stampKeys: Set<string>;
}

const isStamp = (c: AnyPgColumn) =>
  c.columnType === "PgTimestamp" && c.notNull && c.hasDefault && is(c.default, SQL);

// Column metadata and SQL fragments per entity, worked out once per process rather than per row.
const plans = new Map<SyncEntity, UpsertPlan>();

function upsertPlan(entity: SyncEntity): UpsertPlan {
  const cached = plans.get(entity);
  if (cached) return cached;
  const def = ENTITIES[entity];
  const entries = Object.entries(getTableColumns(def.table)) as Array<[string, AnyPgColumn]>;
  for (const [key, c] of entries)
    if (c.hasDefault && c.default === undefined)
      throw new Error(
        `sync: ${def.name}.${key} has a default computed in JavaScript, which a pushed row would not get`,
      );
  const field = (key: string) => sql`x.${sql.identifier(key)}`;
  const names = sql.join(
    entries.map(([, c]) => sql.identifier(c.name)),
    sql`, `,
  );
  const recordset = sql.join(
    entries.map(([key, c]) => sql`${sql.identifier(key)} ${sql.raw(c.getSQLType())}`),
    sql`, `,
  );
  // A key a new row leaves out is null in the recordset, not DEFAULT: NOT NULL columns with a
  // default get it here — timestamps defaulting to now() the batch's time, as one parameter.
  const values = (shared: Map<string, unknown>, fresh: Date | null) => {
    const stamp = fresh && sql`${fresh.toISOString()}::timestamptz`;
    return sql.join(
      entries.map(([key, c]) => {
        const value = shared.has(key) ? sql`${shared.get(key)}::${sql.raw(c.getSQLType())}` : field(key);
        if (!stamp || !c.hasDefault || !c.notNull) return value;
        return sql`coalesce(${value}, ${isStamp(c) ? stamp : c.default})`;
      }),
      sql`, `,
    );
  };
  const writable = sql.join(
    [...Object.keys(def.fields), "syncVersion", "syncClocks", "updatedAt", "deletedAt"].map((k) => {
      const name = (def.table[k] as AnyPgColumn).name;
      return sql`${sql.identifier(name)} = excluded.${sql.identifier(name)}`;
    }),
    sql`, `,
  );
  const times = entries.filter(([, c]) => c.columnType === "PgTimestamp");
  const timeKeys = times.map(([key]) => key);
  const stampKeys = new Set(times.filter(([, c]) => isStamp(c)).map(([key]) => key));
  const plan = { names, recordset, values, writable, timeKeys, stampKeys };
  plans.set(entity, plan);
  return plan;
}

/**
 * Writes new and changed rows of one entity. The rows travel as one JSON parameter — the working
 * set's row objects as they are, under their JavaScript keys (JSON.stringify writes dates as ISO
 * text), expanded by json_to_recordset — far cheaper than thousands of bind parameters, and no row
 * is copied into another shape first. Rows the working set did not find are plainly inserted
 * (cheaper than an upsert, and a row another batch created meanwhile is a constraint violation
 * rather than silently overwritten); changed rows are upserted.
 */
async function upsertRows(
  db: DbOrTx,
  entity: SyncEntity,
  list: Work[],
  now: Date,
  strict: boolean,
  defer: Alongside[] | null,
): Promise<void> {
  const def = ENTITIES[entity];
  const plan = upsertPlan(entity);
  const fresh: Record<string, unknown>[] = [];
  const changed: Record<string, unknown>[] = [];
  for (const w of list) {
    // Dates become ISO text here: JSON.stringify reaches them through toJSON, its slow path, at
    // about twice the cost of the rest of the row. The batch's own time is left for the statement.
    const row = w.row!;
    for (const k of plan.timeKeys) {
      const v = row[k];
      if (v === now && w.isNew && plan.stampKeys.has(k)) row[k] = undefined;
      else if (v instanceof Date) row[k] = v.toISOString();
    }
    (w.isNew ? fresh : changed).push(row);
  }
  // Changed rows first, as the working set holds them (a renumbered apartment frees its number
  // before a new apartment takes it).
  if (changed.length) {
    const shared = sharedValues(changed);
    await db.execute(sql`
      insert into ${def.table} (${plan.names})
      select ${plan.values(shared, null)} from json_to_recordset(${rowsJson(changed, shared)}::json) as x(${plan.recordset})
      on conflict (id) do update set ${plan.writable}`);
  }
  if (!fresh.length) return;
  // An optimistic batch did not look its creates' ids up: if one exists, rerun with look-ups.
  const shared = sharedValues(fresh);
  const insert: Alongside = {
    write: sql`insert into ${def.table} (${plan.names})
      select ${plan.values(shared, now)} from json_to_recordset(${rowsJson(fresh, shared)}::json) as x(${plan.recordset})`,
    rerunOn: `${getTableName(def.table)}_pkey`,
    why: `a ${entity} row this push creates exists already`,
  };
  // With `defer`, the insert rides in the claim statement instead of taking its own round trip.
  if (defer) {
    defer.push(insert);
    return;
  }
  try {
    await db.execute(insert.write);
  } catch (err) {
    if (strict && isUniqueViolation(err, insert.rerunOn!)) throw new Rerun(insert.why!);
    throw err;
  }
}

/**
 * The keys whose value is one and the same scalar in every row (a batch's building, author,
 * version, time): they travel once, as a parameter, instead of in each row's JSON, which
 * Postgres would parse 500 times (about a tenth of inserting a 500-row batch).
 */
function sharedValues(rows: Record<string, unknown>[]): Map<string, unknown> {
  const shared = new Map<string, unknown>();
  if (rows.length < 2) return shared;
  for (const [key, value] of Object.entries(rows[0]!)) {
    if (value === undefined || value === null || typeof value === "object") continue;
    if (rows.every((r) => r[key] === value)) shared.set(key, value);
  }
  return shared;
}

/** The rows as the statement's JSON, without the keys `shared` carries. */
function rowsJson(rows: Record<string, unknown>[], shared: Map<string, unknown>): string {
  if (shared.size === 0) return JSON.stringify(rows);
  return JSON.stringify(
    rows.map((row) => {
      const rest: Record<string, unknown> = {};
      for (const key in row) if (!shared.has(key)) rest[key] = row[key];
      return rest;
    }),
  );
}

/** A REST write's floor clock becomes explicit once sync writes the row (its version moves on). */
export function materializeFloor(w: Work): void {
  if (!w.floor) return;
  for (const f of Object.keys(ENTITIES[w.entity].fields)) {
    const stored = w.clocks[f] ? parseHlc(w.clocks[f]!.h) : null;
    if (!stored || compareHlc(w.floor, stored) > 0)
      w.clocks[f] = { h: formatHlc({ ...w.floor, node: "server" }), u: null };
  }
  w.floor = null;
}

export async function persistBatch(
  db: DbOrTx,
  state: BatchState,
  ctx: { userId: string; deviceId: string; correlationId: string; now: Date },
  results: Array<{ opId: string; result: OpResult; hlc: string; fingerprint: string }>,
  strict: boolean,
): Promise<number> {
  const dirty = [...state.work.values()].filter((w) => w.dirty);
  const byEntity = new Map<SyncEntity, Work[]>();
  for (const w of dirty) {
    const version = state.versions.get(w.row!.buildingId)!;
    w.row!.syncVersion = version;
    w.row!.updatedAt = ctx.now;
    if (w.row!.deletedAt) w.row!.deletedAt = ctx.now;
    materializeFloor(w);
    w.row!.syncClocks = packClocks(version, w.clocks);
    const list = byEntity.get(w.entity) ?? [];
    list.push(w);
    byEntity.set(w.entity, list);
  }
  // New rows can ride in the final claim statement unless a cascade must see them (its UPDATE
  // would not, within one statement).
  const alongside: Alongside[] = [];
  const defer = state.deleted.size === 0 ? alongside : null;
  for (const [entity, list] of byEntity) await upsertRows(db, entity, list, ctx.now, strict, defer);
  for (const [entity, ids] of state.deleted) {
    const building = state.work.get(`${entity}:${ids[0]}`)!.row!.buildingId as string;
    // Ids of one entity may span buildings; each cascade runs at its own building's version.
    const perBuilding = new Map<string, string[]>();
    for (const id of ids) {
      const b = (state.work.get(`${entity}:${id}`)?.row?.buildingId as string) ?? building;
      perBuilding.set(b, [...(perBuilding.get(b) ?? []), id]);
    }
    for (const [b, list] of perBuilding)
      await cascadeDeletes(db, entity, list, state.versions.get(b)!, ctx.now);
  }
  if (state.conflicts.length) {
    const inserted = await db
      .insert(syncConflicts)
      .values(
        state.conflicts.map((c) => ({
          ...c,
          userId: ctx.userId,
          deviceId: ctx.deviceId,
          createdAt: ctx.now,
        })),
      )
      .returning({ id: syncConflicts.id });
    await recordEvents(
      db,
      state.conflicts.map((c, i) => ({
        buildingId: c.buildingId,
        topic: SYNC_CONFLICT_TOPIC,
        correlationId: ctx.correlationId,
        payload: {
          conflictId: inserted[i]!.id,
          userId: ctx.userId,
          deviceId: ctx.deviceId,
          opId: c.opId,
          entity: c.entity,
          rowId: c.rowId,
          field: c.field,
          kind: c.kind,
          rule: c.rule,
        },
      })),
    );
    // Subscribers (the loser's notification, webhooks) get the conflict with both values; the
    // room already hears of it through the sync.conflict event above.
    for (const [i, c] of state.conflicts.entries()) {
      await recordDomainEvent(
        db,
        {
          type: "sync.conflict",
          buildingId: c.buildingId,
          actorId: ctx.userId,
          data: {
            conflictId: inserted[i]!.id,
            userId: ctx.userId,
            entity: c.entity,
            rowId: c.rowId,
            field: c.field ?? "",
            theirs: valueText(c.incomingValue),
            winner: valueText(c.currentValue),
          },
        },
        { room: false },
      );
    }
  }
  // Fixed-width clocks compare as strings, so greatest() keeps the newest accepted clock.
  const newest = new Map<string, string>();
  for (const { result, hlc } of results) {
    if (result.status === "rejected" || !result.buildingId) continue;
    const prev = newest.get(result.buildingId);
    if (!prev || hlc > prev) newest.set(result.buildingId, hlc);
  }
  if (newest.size)
    alongside.push({
      write: sql`insert into sync_tombstone_floors (building_id, max_hlc)
        select x.b, x.h from json_to_recordset(${JSON.stringify([...newest].map(([b, h]) => ({ b, h })))}::json)
          as x(b uuid, h text)
        on conflict (building_id) do update
        set max_hlc = greatest(coalesce(sync_tombstone_floors.max_hlc, ''), excluded.max_hlc)`,
    });
  // Last: each op is recorded with its result in the statement that claims it (see claims.ts).
  // (The buildings' newest clocks, and the new rows when deferred, ride in the same statement.)
  const claimed = claimOps(db, ctx.userId, ctx.deviceId, results, strict, alongside);
  if (!dirty.length) return claimed;
  // The batch's domain events are built while PostgreSQL runs the claim (the longest statement
  // of a push: ~3 ms of JavaScript for 500 events then costs no wall time), and their insert
  // queues behind it on the transaction's connection. A claim that fails aborts the transaction,
  // and the insert with it; a claim short of ops reruns the transaction (push.ts).
  let failed = false;
  claimed.catch(() => {
    failed = true;
  });
  await nextTurn();
  if (failed) return claimed;
  const recorded = recordDomainEvents(db, batchDomainEvents(dirty, state.work, ctx));
  // Behind a failed claim the insert fails too ("transaction is aborted"), maybe first: the
  // claim's error (a Rerun, say) is the one to throw.
  recorded.catch(() => {});
  const n = await claimed;
  await recorded;
  return n;
}

/**
 * Resolves after pending I/O callbacks and microtasks ran: a statement started just before has
 * been handed to the driver and written to its connection (Drizzle starts it from a `then`).
 */
const nextTurn = (): Promise<void> =>
  new Promise((resolve) =>
    typeof setImmediate === "function" ? setImmediate(resolve) : setTimeout(resolve, 0),
  );

/** A conflict value as JSON text for its notice: at most 1,000 code points, never half a pair. */
function valueText(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  const points = Array.from(JSON.stringify(value));
  return points.length <= 1000 ? points.join("") : `${points.slice(0, 999).join("")}…`;
}
