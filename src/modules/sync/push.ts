/**
 * Idempotent push. One transaction per batch: answer replays (ops already recorded) from their
 * stored results, lock and bump each touched building once (bumpBuildingVersion, sorted so
 * concurrent batches cannot deadlock), load the working set, apply the ops in order in memory,
 * write back, and record each op with its result in the same statement that claims it. A
 * concurrent duplicate that recorded an op first makes the claim come up short: the attempt rolls
 * back and reruns, now answering that op as a replay, so nothing applies twice. If the batch
 * trips a database constraint no in-memory check foresaw, it is retried op by op so only the
 * offending op fails.
 */

import { z } from "zod";
import { regexes } from "zod/v4/core";
import { formatHlc, parseHlc } from "../../client/sync/hlc";
import { ApiError } from "../../errors";
import { isUuid } from "../../http/auth";
import { hasDbError } from "../../platform/db";
import type { OpResult, SyncEntity } from "../../protocol/sync";
import { inTransaction, userOf, type VerbContext } from "../../verbs";
import { loadAccess } from "./access";
import { applyOp, type BatchState, type ParsedOp } from "./apply";
import { answerRecorded, opFingerprint, opIdReused, Rerun, recordedOps, storeResult } from "./claims";
import { entityDef } from "./entities";
import { persistBatch } from "./persist";
import { recordSyncState, syncStateDue, syncStateRecorded } from "./state";
import { storableText, unstorableTextAt } from "./text";
import { bumpAsMember, bumpBuildingVersion } from "./version";
import { buildingsOf, loadWorkingSet, occupiedApartments, workKey } from "./working-set";

const OP_ID = /^[A-Za-z0-9_.:-]{1,128}$/;
const UUID = regexes.uuid();
const OP_KEYS = new Set(["opId", "type", "entity", "id", "fields", "hlc"]);

export const OpSchema = z
  .object({
    opId: z.string().regex(OP_ID, "1–128 characters of A-Z a-z 0-9 _ . : -"),
    type: z.enum(["create", "update", "delete"]),
    entity: z.string().min(1).max(64),
    id: z.uuid(),
    fields: z.record(z.string(), z.unknown()).optional(),
    hlc: z.string().max(100),
  })
  .strict();

/**
 * OpSchema's shape, checked by hand: a well-formed op (nearly every op) skips zod, which costs
 * most of the per-op validation of a 500-op push; anything else goes through OpSchema, for its
 * verdict and its message. It never accepts an op OpSchema rejects (test/unit/sync-op-shape.test.ts).
 */
export function wellFormedOp(raw: unknown): raw is z.infer<typeof OpSchema> {
  if (typeof raw !== "object" || raw === null || Object.getPrototypeOf(raw) !== Object.prototype)
    return false;
  for (const k of Object.keys(raw)) if (!OP_KEYS.has(k)) return false;
  const o = raw as Record<string, unknown>;
  const f = o.fields;
  return (
    typeof o.opId === "string" &&
    OP_ID.test(o.opId) &&
    (o.type === "create" || o.type === "update" || o.type === "delete") &&
    typeof o.entity === "string" &&
    o.entity.length >= 1 &&
    o.entity.length <= 64 &&
    typeof o.id === "string" &&
    UUID.test(o.id) &&
    typeof o.hlc === "string" &&
    o.hlc.length <= 100 &&
    (f === undefined ||
      (typeof f === "object" && f !== null && Object.getPrototypeOf(f) === Object.prototype))
  );
}

export interface PushInput {
  deviceId: string;
  ops: unknown[];
  pending?: Record<string, number>;
}

/** An integrity constraint violation (SQLSTATE class 23). */
const isIntegrityError = (err: unknown): boolean =>
  hasDbError(err, (e) => typeof e.code === "string" && e.code.startsWith("23"));

/**
 * One transaction for `ops`. With `optimistic`, the first attempt skips the look-up of recorded
 * ops (almost every push is new) and of the rows its creates name (fresh ids); if any op turns
 * out to be recorded already (a replay, or a concurrent duplicate that committed first) or a
 * created row exists, the attempt fails with Rerun having changed nothing, and the rerun looks
 * both up: recorded ops answer their stored results, existing rows reject their creates.
 */
async function applyInTransaction(
  ctx: VerbContext,
  user: { userId: string; isAdmin: boolean },
  deviceId: string,
  ops: ParsedOp[],
  optimistic: boolean,
  last?: (tx: VerbContext) => Promise<void>,
): Promise<Map<number, OpResult>> {
  for (let attempt = 1; ; attempt++) {
    const lookUp = attempt > 1 || !optimistic;
    try {
      return await inTransaction(ctx, async (tx) => {
        const out = await applyBatch(tx, user, deviceId, ops, lookUp);
        await last?.(tx);
        return out;
      });
    } catch (err) {
      if (!(err instanceof Rerun) || attempt >= 8) throw err;
    }
  }
}

export async function pushOps(ctx: VerbContext, input: PushInput): Promise<{ results: OpResult[] }> {
  const user = userOf(ctx);
  if (!user) throw new ApiError("UNAUTHENTICATED", "sync needs a signed-in user");
  const max = ctx.services.config.SYNC_MAX_OPS_PER_PUSH;
  if (input.ops.length > max) {
    throw new ApiError(
      "PAYLOAD_TOO_LARGE",
      `a push carries at most ${max} ops (got ${input.ops.length}); send them in batches`,
      {
        extensions: { maxOps: max },
      },
    );
  }
  const results: OpResult[] = new Array(input.ops.length);
  const valid: ParsedOp[] = [];
  const firstIndex = new Map<string, number>();
  const firstFingerprint = new Map<string, string>();
  const horizon = ctx.now.getTime() + ctx.services.config.SYNC_MAX_CLOCK_SKEW_MS;
  input.ops.forEach((raw, index) => {
    const rawId = (raw as { opId?: unknown } | null)?.opId;
    // Text the database cannot hold (NUL, lone surrogates) refuses its op alone, before anything
    // of it is parsed, recorded or echoed (see text.ts).
    const badText = unstorableTextAt(raw);
    if (badText !== null) {
      results[index] = {
        opId: typeof rawId === "string" && storableText(rawId) ? rawId.slice(0, 128) : `#${index}`,
        status: "rejected",
        reason: "INVALID_TEXT",
        detail: `${badText}: text may not contain NUL (U+0000) or a lone surrogate (U+D800–U+DFFF)`,
      };
      return;
    }
    const parsed = wellFormedOp(raw) ? { success: true as const, data: raw } : OpSchema.safeParse(raw);
    const opId = typeof rawId === "string" ? rawId.slice(0, 128) : `#${index}`;
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      results[index] = {
        opId,
        status: "rejected",
        reason: "INVALID_OP",
        detail: `${issue?.path.join(".") || "op"}: ${issue?.message}`,
      };
      return;
    }
    const hlc = parseHlc(parsed.data.hlc);
    if (!hlc) {
      results[index] = {
        opId,
        status: "rejected",
        reason: "INVALID_HLC",
        detail: "hlc must look like 000001732900000000-000000-node",
      };
      return;
    }
    const fingerprint = opFingerprint(parsed.data);
    const first = firstFingerprint.get(opId);
    if (first !== undefined) {
      // A copy inside the batch answers like the first; another op under the same id is refused.
      if (first !== fingerprint) results[index] = opIdReused(opId);
      return;
    }
    firstIndex.set(opId, index);
    firstFingerprint.set(opId, fingerprint);
    // A clock too far ahead of the server is pulled back, so a wrong phone clock cannot win forever.
    const clamped = hlc.wall > horizon;
    const at = clamped ? { ...hlc, wall: horizon } : hlc;
    valid.push({
      index,
      ...parsed.data,
      fields: parsed.data.fields ?? {},
      hlc: at,
      // Clocks are fixed-width, so a valid unclamped clock string is already its canonical form.
      hlcText: clamped ? formatHlc(at) : parsed.data.hlc,
      clamped,
      fingerprint,
    });
  });

  const syncState = {
    userId: user.userId,
    deviceId: input.deviceId,
    entities: [...new Set(valid.map((o) => o.entity).filter((e) => entityDef(e)))],
    pushedAt: ctx.now,
    pending: input.pending,
  };
  // Recorded in the batch's transaction when the batch commits as one; otherwise afterwards.
  // Skipped when this device's push state was written moments ago with the same pending counts.
  const due = syncStateDue(ctx, syncState, "push");
  let stateRecorded = !due;
  if (valid.length) {
    try {
      const out = await applyInTransaction(ctx, user, input.deviceId, valid, true, async (tx) => {
        if (due) await recordSyncState(tx, syncState, { savepoint: true });
      });
      for (const [i, r] of out) results[i] = r;
      if (due) syncStateRecorded(ctx, syncState, "push");
      stateRecorded = true;
    } catch (err) {
      if (!isIntegrityError(err)) throw err;
      for (const op of valid) {
        try {
          const out = await applyInTransaction(ctx, user, input.deviceId, [op], false);
          for (const [i, r] of out) results[i] = r;
        } catch (e) {
          if (!isIntegrityError(e)) throw e;
          const r: OpResult = {
            opId: op.opId,
            status: "rejected",
            reason: "CONSTRAINT_VIOLATION",
            detail: "the op conflicts with existing data (duplicate number, unknown user, ...)",
          };
          results[op.index] = await storeResult(ctx.db, user.userId, input.deviceId, {
            opId: op.opId,
            result: r,
            fingerprint: op.fingerprint,
          });
        }
      }
    }
  }
  input.ops.forEach((raw, index) => {
    if (results[index]) return;
    const opId = (raw as { opId: string }).opId;
    results[index] = results[firstIndex.get(opId)!]!;
  });

  if (!stateRecorded) {
    await recordSyncState(ctx, syncState);
    syncStateRecorded(ctx, syncState, "push");
  }
  return { results };
}

async function applyBatch(
  ctx: VerbContext,
  user: { userId: string; isAdmin: boolean },
  deviceId: string,
  ops: ParsedOp[],
  lookUp: boolean,
): Promise<Map<number, OpResult>> {
  const db = ctx.db;
  const out = new Map<number, OpResult>();
  // 1. Replays: an op already recorded answers its stored result and touches nothing (or, if its
  // id was first used for another op, is refused). Fresh ops are recorded (with their results and
  // fingerprints) at the end of this transaction, see persistBatch.
  const prior = lookUp
    ? await recordedOps(
        db,
        user.userId,
        ops.map((o) => o.opId),
      )
    : null;
  const fresh: ParsedOp[] = [];
  for (const o of ops) {
    const recorded = prior?.get(o.opId);
    if (!recorded) fresh.push(o);
    else out.set(o.index, answerRecorded(o.opId, o.fingerprint, recorded));
  }
  if (fresh.length === 0) return out;

  // 2. Which buildings the ops touch, the caller's role there; lock and bump each once.
  const idsByEntity = new Map<SyncEntity, Set<string>>();
  const want = (entity: SyncEntity, id: unknown) => {
    if (typeof id !== "string" || !isUuid(id)) return;
    const set = idsByEntity.get(entity) ?? new Set<string>();
    set.add(id);
    idsByEntity.set(entity, set);
  };
  for (const o of fresh) {
    const def = entityDef(o.entity);
    if (!def || def.readOnly) continue;
    // Optimistic: a create's own id is assumed new (it is a fresh client uuid); if it exists, the
    // insert fails on the primary key and the batch reruns with look-ups (ALREADY_EXISTS).
    if (o.type !== "create" || lookUp) want(def.name, o.id);
    if (o.type === "create" && def.parent) want(def.parent.entity, o.fields[def.parent.field]);
  }
  // Only existing rows need their building looked up; a create names its building.
  const existingIds = new Map<SyncEntity, Set<string>>();
  for (const o of fresh) {
    const def = entityDef(o.entity);
    if (!def || def.readOnly || o.type === "create" || !isUuid(o.id)) continue;
    existingIds.set(def.name, (existingIds.get(def.name) ?? new Set()).add(o.id));
  }
  const owners = await buildingsOf(db, existingIds);
  const buildingIds = new Set<string>();
  for (const o of fresh) {
    const def = entityDef(o.entity);
    if (!def || def.readOnly) continue;
    const b = owners.get(workKey(def.name, o.id)) ?? (o.type === "create" ? o.fields.buildingId : undefined);
    if (typeof b === "string" && isUuid(b)) buildingIds.add(b);
  }
  const access: BatchState["access"] = new Map();
  const versions = new Map<string, number>();
  if (buildingIds.size === 1) {
    // The usual push (one building): standing and bump in one statement.
    const [b] = buildingIds;
    const bumped = await bumpAsMember(db, b!, user);
    if (bumped) {
      access.set(b!, { buildingId: b!, actor: bumped.actor });
      versions.set(b!, bumped.version);
    }
  } else {
    for (const [b, a] of await loadAccess(db, user, [...buildingIds])) access.set(b, a);
    // Sorted, so concurrent batches lock the same buildings in one order and cannot deadlock.
    for (const b of [...access.keys()].sort()) versions.set(b, await bumpBuildingVersion(db, b));
  }

  // 3. Load the rows under the locks, apply in order, write back.
  const work = await loadWorkingSet(db, { ids: idsByEntity });
  const aptDeletes = fresh.filter((o) => o.entity === "apartments" && o.type === "delete").map((o) => o.id);
  const state: BatchState = {
    userId: user.userId,
    work,
    access,
    versions,
    occupied: await occupiedApartments(db, aptDeletes),
    conflicts: [],
    deleted: new Map(),
  };
  const stored: Array<{ opId: string; result: OpResult; hlc: string; fingerprint: string }> = [];
  for (const o of fresh) {
    const r = applyOp(state, o);
    out.set(o.index, r);
    stored.push({ opId: o.opId, result: r, hlc: o.hlcText, fingerprint: o.fingerprint });
  }
  const claimed = await persistBatch(
    db,
    state,
    { userId: user.userId, deviceId, correlationId: ctx.correlationId, now: ctx.now },
    stored,
    !lookUp,
  );
  // A concurrent duplicate committed some of these ops first: undo this attempt and answer theirs.
  if (claimed < stored.length) throw new Rerun("an op of this push was recorded by another transaction");
  return out;
}
