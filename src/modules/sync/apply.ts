/**
 * Applies one pushed op to the batch's in-memory working set (design property 23). Rules:
 *  - fields: last-write-wins per field by hybrid logical clock, node id breaking ties; a field
 *    whose current clock is newer keeps its value and the incoming edit is recorded as a conflict;
 *  - delete wins: a deleted row stays deleted, later updates are `superseded` (and reported);
 *  - an edit under a deleted parent cannot be applied: `rejected` PARENT_DELETED, reported as an
 *    unresolvable conflict (design property 26).
 * Permission and schema failures reject the op alone; the rest of the batch still applies.
 */
import { compareHlc, formatHlc, type Hlc, parseHlc } from "../../client/sync/hlc";
import type { OpResult, SyncEntity } from "../../protocol/sync";
import { ENTITIES, type EntityDef, entityDef, type SyncActor, toWire } from "./entities";
import { type Work, workKey } from "./working-set";

export interface ParsedOp {
  index: number;
  opId: string;
  type: "create" | "update" | "delete";
  entity: string;
  id: string;
  fields: Record<string, unknown>;
  hlc: Hlc;
  /** `hlc` formatted (the op's own string unless clamped): formatted once per op, not per field. */
  hlcText: string;
  clamped: boolean;
  /** What the op says, hashed (claims.ts opFingerprint): told apart from another op under its id. */
  fingerprint: string;
}

export interface ConflictRecord {
  buildingId: string;
  opId: string;
  entity: SyncEntity;
  rowId: string;
  field: string | null;
  kind: "lww" | "unresolvable";
  rule: "field-lww" | "delete-wins" | "parent-deleted";
  incomingValue: unknown;
  incomingHlc: string;
  currentValue: unknown;
  currentHlc: string | null;
  currentUserId: string | null;
}

export interface BatchState {
  userId: string;
  work: Map<string, Work>;
  /** The caller's standing in each building the batch writes (and may write). */
  access: Map<string, { buildingId: string; actor: SyncActor }>;
  /** Version each locked building is written at in this batch. */
  versions: Map<string, number>;
  occupied: Set<string>;
  conflicts: ConflictRecord[];
  /** Rows deleted in this batch, per entity, for the cascade. */
  deleted: Map<SyncEntity, string[]>;
}

const reject = (op: ParsedOp, reason: string, detail: string): OpResult => ({
  opId: op.opId,
  status: "rejected",
  reason,
  detail,
});

function result(
  op: ParsedOp,
  status: "applied" | "superseded",
  version: number,
  buildingId: string,
  extra?: Partial<OpResult>,
): OpResult {
  const r: OpResult = { opId: op.opId, status, version, buildingId };
  if (op.clamped) r.clampedHlc = op.hlcText;
  return extra ? Object.assign(r, extra) : r;
}

const sameValue = (a: unknown, b: unknown) =>
  a instanceof Date && b instanceof Date ? a.getTime() === b.getTime() : a === b;

type ConflictDetail = Omit<ConflictRecord, "buildingId" | "opId" | "entity" | "rowId" | "incomingHlc">;
const conflictOf = (op: ParsedOp, def: EntityDef, buildingId: string, c: ConflictDetail): ConflictRecord => ({
  buildingId,
  opId: op.opId,
  entity: def.name,
  rowId: op.id,
  incomingHlc: op.hlcText,
  ...c,
});

/** Did `op` create this row? Some field still carries the op's own clock, written by this user. */
const ownCreate = (w: Work, op: ParsedOp, userId: string) =>
  Object.values(w.clocks).some((c) => c.h === op.hlcText && c.u === userId);

/** An edit under a deleted parent: reported as an unresolvable conflict, and rejected. */
function parentDeleted(
  state: BatchState,
  op: ParsedOp,
  def: EntityDef,
  buildingId: string,
  parent: Work,
): OpResult {
  state.conflicts.push(
    conflictOf(op, def, buildingId, {
      field: null,
      kind: "unresolvable",
      rule: "parent-deleted",
      incomingValue: op.fields,
      currentValue: null,
      currentHlc: parent.clocks._deleted?.h ?? null,
      currentUserId: parent.clocks._deleted?.u ?? null,
    }),
  );
  return reject(op, "PARENT_DELETED", `${def.parent!.entity} ${parent.id} was deleted`);
}

/** What a resident may read, mirroring the pull filters of entities.ts. */
function residentSees(
  def: EntityDef,
  actor: SyncActor,
  row: Record<string, any>,
  parent: Work | undefined,
): boolean {
  if (actor.role === "manager") return true;
  switch (def.name) {
    case "maintenance_requests":
      return row.apartmentId === actor.apartmentId;
    case "request_comments":
      return parent?.row?.apartmentId === actor.apartmentId;
    default:
      return true;
  }
}

function parentOf(def: EntityDef, state: BatchState, row: Record<string, any>): Work | undefined {
  if (!def.parent) return undefined;
  const pid = row[def.parent.field];
  return typeof pid === "string" ? state.work.get(workKey(def.parent.entity, pid)) : undefined;
}

/** Validates the fields an op sets; returns the stored values or a rejection. */
function parseFields(
  def: EntityDef,
  actor: SyncActor,
  op: ParsedOp,
): { values: Record<string, unknown> } | { reason: string; detail: string } {
  const values: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(op.fields)) {
    if (key === "buildingId" && op.type === "create") continue;
    const fd = Object.hasOwn(def.fields, key) ? def.fields[key] : undefined;
    if (!fd?.input) return { reason: "UNKNOWN_FIELD", detail: `${def.name} has no writable field "${key}"` };
    if (!fd.writers?.includes(actor.role)) {
      return { reason: "FORBIDDEN_FIELD", detail: `a ${actor.role} may not write ${def.name}.${key}` };
    }
    if (fd.createOnly && op.type !== "create") {
      return { reason: "FORBIDDEN_FIELD", detail: `${def.name}.${key} is set on create only` };
    }
    const parsed = fd.input.safeParse(raw);
    if (!parsed.success) {
      return {
        reason: "INVALID_FIELD",
        detail: `${def.name}.${key}: ${parsed.error.issues[0]?.message ?? "invalid"}`,
      };
    }
    values[key] = parsed.data;
  }
  return { values };
}

export function applyOp(state: BatchState, op: ParsedOp): OpResult {
  const def = entityDef(op.entity);
  if (!def) return reject(op, "UNKNOWN_ENTITY", `"${op.entity}" is not a synced entity`);
  if (def.readOnly) return reject(op, "READ_ONLY", `${def.name} are read-only over sync`);
  const w = state.work.get(workKey(def.name, op.id));
  const existing = w?.row ?? null;
  const buildingId = existing ? (existing.buildingId as string) : op.fields.buildingId;
  const access = typeof buildingId === "string" ? state.access.get(buildingId) : undefined;
  const version = access ? state.versions.get(access.buildingId) : undefined;

  if (op.type === "create") {
    // The row exists: unless this very create made it (below), the id is taken.
    if (existing && !ownCreate(w!, op, state.userId))
      return reject(op, "ALREADY_EXISTS", `${def.name} ${op.id} already exists`);
    if (typeof buildingId !== "string")
      return reject(op, "MISSING_FIELD", "a create needs fields.buildingId");
  } else if (!existing) {
    return reject(op, "NOT_FOUND", `${def.name} ${op.id} not found`);
  }
  if (!access || version === undefined) return reject(op, "NOT_FOUND", "building not found");
  const actor = access.actor;
  const b = access.buildingId;
  // This very create, replayed after its op record was purged (SYNC_OP_RETENTION_DAYS): it stands.
  if (op.type === "create" && existing) return result(op, "applied", version, b);

  const parsed = op.type === "delete" ? { values: {} } : parseFields(def, actor, op);
  if ("reason" in parsed) return reject(op, parsed.reason, parsed.detail);

  if (op.type === "create") {
    const missing = def.required.filter((f) => parsed.values[f] === undefined);
    if (missing.length)
      return reject(op, "MISSING_FIELD", `a new ${def.name} row needs ${missing.join(", ")}`);
    const row: Record<string, any> = {
      id: op.id,
      buildingId,
      ...parsed.values,
      ...(def.serverFields?.(actor) ?? {}),
    };
    const parent = parentOf(def, state, row);
    if (def.parent) {
      const pdef = ENTITIES[def.parent.entity];
      const visible = parent?.row && residentSees(pdef, actor, parent.row, parentOf(pdef, state, parent.row));
      if (!parent?.row || parent.row.buildingId !== buildingId || !visible) {
        return reject(
          op,
          "PARENT_NOT_FOUND",
          `${def.parent.entity} ${String(row[def.parent.field])} not found`,
        );
      }
      if (parent.row.deletedAt) return parentDeleted(state, op, def, b, parent);
    }
    if (!def.canWrite(actor, "create", row))
      return reject(op, "FORBIDDEN", `a ${actor.role} may not create this ${def.name} row`);
    const clocks: Work["clocks"] = {};
    for (const f of Object.keys(parsed.values)) clocks[f] = { h: op.hlcText, u: state.userId };
    state.work.set(workKey(def.name, op.id), {
      entity: def.name,
      id: op.id,
      row,
      isNew: true,
      dirty: true,
      clocks,
      floor: null,
    });
    return result(op, "applied", version, b);
  }

  const row = existing!;
  const parent = parentOf(def, state, row);
  if (!residentSees(def, actor, row, parent))
    return reject(op, "NOT_FOUND", `${def.name} ${op.id} not found`);
  if (!def.canWrite(actor, op.type, row))
    return reject(op, "FORBIDDEN", `a ${actor.role} may not ${op.type} this ${def.name} row`);
  const work = w!;
  const deletedBy = work.clocks._deleted ?? null;

  if (op.type === "delete") {
    if (row.deletedAt) {
      // This very delete (replayed after its op record was purged) stands as applied.
      if (deletedBy?.h === op.hlcText && deletedBy.u === state.userId)
        return result(op, "applied", version, b);
      return result(op, "superseded", version, b, { detail: "already deleted" });
    }
    if (def.name === "apartments" && state.occupied.has(op.id)) {
      return reject(
        op,
        "HAS_RESIDENTS",
        "an apartment with residents cannot be deleted; move or remove them first",
      );
    }
    row.deletedAt = new Date();
    work.clocks._deleted = { h: op.hlcText, u: state.userId };
    work.dirty = true;
    const list = state.deleted.get(def.name) ?? [];
    list.push(op.id);
    state.deleted.set(def.name, list);
    return result(op, "applied", version, b);
  }

  if (Object.keys(parsed.values).length === 0)
    return reject(op, "INVALID_OP", "an update needs at least one field");
  // Deleted with its parent (cascade): report it as the parent's deletion.
  const parentGone = parent?.row?.deletedAt && (!row.deletedAt || !deletedBy);
  if (row.deletedAt && !parentGone) {
    state.conflicts.push(
      conflictOf(op, def, b, {
        field: null,
        kind: "lww",
        rule: "delete-wins",
        incomingValue: op.fields,
        currentValue: null,
        currentHlc: deletedBy?.h ?? null,
        currentUserId: deletedBy?.u ?? null,
      }),
    );
    return result(op, "superseded", version, b, {
      reason: "DELETED",
      detail: `${def.name} ${op.id} was deleted; delete wins over updates`,
    });
  }
  if (parentGone) return parentDeleted(state, op, def, b, parent);
  const lost: string[] = [];
  let applied = 0;
  let present = 0;
  for (const [f, value] of Object.entries(parsed.values)) {
    // The field holds this very edit (its clock and value): an op replayed after its record was
    // purged (SYNC_OP_RETENTION_DAYS) is answered as applied, with nothing written again.
    if (
      work.clocks[f]?.h === op.hlcText &&
      work.clocks[f]!.u === state.userId &&
      !work.floor &&
      sameValue(row[f], value)
    ) {
      present++;
      continue;
    }
    const stored = work.clocks[f] ? parseHlc(work.clocks[f]!.h) : null;
    let current = stored;
    let currentUser = work.clocks[f]?.u ?? null;
    if (work.floor && (!current || compareHlc(work.floor, current) > 0)) {
      current = work.floor;
      currentUser = null;
    }
    if (!current || compareHlc(op.hlc, current) > 0) {
      row[f] = value;
      work.clocks[f] = { h: op.hlcText, u: state.userId };
      applied++;
    } else {
      lost.push(f);
      state.conflicts.push(
        conflictOf(op, def, b, {
          field: f,
          kind: "lww",
          rule: "field-lww",
          incomingValue: toWire(value),
          currentValue: toWire(row[f]),
          currentHlc: formatHlc(current),
          currentUserId: currentUser,
        }),
      );
    }
  }
  if (applied) work.dirty = true;
  return result(
    op,
    applied || present ? "applied" : "superseded",
    version,
    b,
    lost.length ? { superseded: lost } : undefined,
  );
}
