/**
 * The rows a push batch touches, loaded once after the building locks are held: the op targets,
 * their parents (a comment's request, a request's apartment), each with its per-field clocks (the
 * row's sync_clocks column). Ops then apply in memory, in order, and the batch writes the final
 * rows back in a few statements.
 */
import { and, inArray, isNull, type SQL, sql } from "drizzle-orm";
import type { AnyPgColumn } from "drizzle-orm/pg-core";
import type { Hlc } from "../../client/sync/hlc";
import type { FieldClock, SyncClocks } from "../../db/columns";
import { memberships } from "../../db/schema";
import type { DbOrTx } from "../../platform/db";
import type { SyncEntity } from "../../protocol/sync";
import { unpackClocks } from "./clocks";
import { ENTITIES } from "./entities";

export type StoredClock = FieldClock;

export interface Work {
  entity: SyncEntity;
  id: string;
  row: Record<string, any> | null;
  isNew: boolean;
  dirty: boolean;
  clocks: Record<string, StoredClock>;
  /** Written outside sync since sync last wrote it: updated_at is the floor clock of every field. */
  floor: Hlc | null;
  /** What the row's domain events compare against (status, deletion) as loaded; absent for new rows. */
  before?: { status?: string; deletedAt: Date | null };
}

export const workKey = (entity: string, id: string) => `${entity}:${id}`;

/** Loading order: children before parents, so parent ids found on children are loaded too. */
const LOAD_ORDER: SyncEntity[] = ["request_comments", "maintenance_requests", "apartments", "announcements"];
const PARENT_OF: Partial<Record<SyncEntity, { field: string; entity: SyncEntity }>> = {
  request_comments: { field: "requestId", entity: "maintenance_requests" },
  maintenance_requests: { field: "apartmentId", entity: "apartments" },
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A Postgres array literal: a list travels as one bind parameter instead of one per element. */
export const arrayLiteral = (xs: string[]): string =>
  `{${xs.map((x) => `"${x.replace(/["\\]/g, "\\$&")}"`).join(",")}}`;

/** `column = any(ids)` with the ids in one parameter (cheaper to bind and plan than `in ($1, …, $500)`). */
const anyUuid = (column: AnyPgColumn, ids: string[]): SQL =>
  sql`${column} = any(${arrayLiteral(ids)}::uuid[])`;

export interface LoadRequest {
  /** ids per entity named by ops, plus parent ids named in create fields */
  ids: Map<SyncEntity, Set<string>>;
}

export async function loadWorkingSet(db: DbOrTx, req: LoadRequest): Promise<Map<string, Work>> {
  const work = new Map<string, Work>();
  for (const entity of LOAD_ORDER) {
    const ids = [...(req.ids.get(entity) ?? [])].filter((id) => UUID.test(id));
    if (ids.length === 0) continue;
    const def = ENTITIES[entity];
    const rows = (await db.select().from(def.table).where(anyUuid(def.table.id, ids))) as Array<
      Record<string, any>
    >;
    for (const row of rows) {
      work.set(workKey(entity, row.id), {
        entity,
        id: row.id,
        row,
        isNew: false,
        dirty: false,
        clocks: {},
        floor: null,
        before: {
          status: row.status as string | undefined,
          deletedAt: (row.deletedAt as Date | null) ?? null,
        },
      });
      const parent = PARENT_OF[entity];
      const pid = parent ? (row[parent.field] as string | null) : null;
      if (parent && pid) {
        const set = req.ids.get(parent.entity) ?? new Set<string>();
        req.ids.set(parent.entity, set);
        set.add(pid);
      }
    }
  }
  for (const w of work.values()) {
    const c = w.row!.syncClocks as SyncClocks | null;
    if (c) w.clocks = unpackClocks(c);
    // A row written elsewhere after sync last wrote it (or never written by sync): every field
    // counts as written at the row's updated_at, by no node in particular (sorts first on ties).
    if (!c || c.v !== Number(w.row!.syncVersion)) {
      w.floor = { wall: (w.row!.updatedAt as Date).getTime(), counter: 0, node: "" };
    }
  }
  return work;
}

/** Apartments among `ids` that still have members (an apartment with residents cannot be deleted). */
export async function occupiedApartments(db: DbOrTx, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db
    .select({ id: memberships.apartmentId })
    .from(memberships)
    .where(and(inArray(memberships.apartmentId, ids), isNull(memberships.deletedAt)));
  return new Set(rows.map((r) => r.id!));
}

/** The building of each existing row named by an op (building ids never change). */
export async function buildingsOf(
  db: DbOrTx,
  ids: Map<SyncEntity, Set<string>>,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const [entity, set] of ids) {
    const list = [...set].filter((id) => UUID.test(id));
    if (list.length === 0) continue;
    const def = ENTITIES[entity];
    const rows = (await db
      .select({ id: def.table.id, buildingId: def.table.buildingId })
      .from(def.table)
      .where(anyUuid(def.table.id, list))) as Array<{ id: string; buildingId: string }>;
    for (const r of rows) out.set(workKey(entity, r.id), r.buildingId);
  }
  return out;
}

/** Soft-deletes, at `version`, the live descendants of deleted rows (request → comments, apartment → requests → comments). */
export async function cascadeDeletes(
  db: DbOrTx,
  entity: SyncEntity,
  ids: string[],
  version: number,
  now: Date,
): Promise<void> {
  for (const child of ENTITIES[entity].children ?? []) {
    const cdef = ENTITIES[child.entity];
    const orphans = (await db
      .update(cdef.table)
      .set({ deletedAt: now, syncVersion: version, updatedAt: now })
      .where(and(inArray(cdef.columns[child.field]!, ids), isNull(cdef.table.deletedAt)))
      .returning({ id: cdef.table.id })) as Array<{ id: string }>;
    // Children deleted earlier had their own descendants cascaded then.
    if (orphans.length)
      await cascadeDeletes(
        db,
        child.entity,
        orphans.map((o) => o.id),
        version,
        now,
      );
  }
}
