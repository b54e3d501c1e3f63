import { bigint, index, integer, json, jsonb, pgTable, text, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { createdAt, id, tstz } from "../../db/columns";

/** Per user, device and entity: last pull, last push and the pending ops the client reports. */
export const syncState = pgTable(
  "sync_state",
  {
    id: id(),
    userId: uuid("user_id").notNull(),
    deviceId: text("device_id").notNull(),
    entityType: text("entity_type").notNull(),
    /** Last pull; null while the device has only pushed. */
    lastSyncAt: tstz("last_sync_at"),
    lastPushAt: tstz("last_push_at"),
    pendingOps: integer("pending_ops").notNull().default(0),
  },
  (t) => [
    uniqueIndex("sync_state_user_device_entity_uq").on(t.userId, t.deviceId, t.entityType),
    index("sync_state_user_last_idx").on(t.userId, t.lastSyncAt),
  ],
);

/**
 * Every pushed op, recorded with its result in the transaction that applies it, so a replay (or a
 * concurrent duplicate request) finds the original result instead of applying the op again. Ops
 * of the SDK's ids `<stream>:<seq>` are recorded in runs of consecutive seqs (one row for a
 * device's 500-op push); any other id is a run of one, at seq -1 (see claims.ts). Migration 0009
 * adds the exclusion constraint `sync_op_runs_no_overlap`: a user's runs of one stream never
 * overlap, so no op is recorded twice.
 */
export const syncOpRuns = pgTable(
  "sync_op_runs",
  {
    userId: uuid("user_id").notNull(),
    stream: text("stream").notNull(),
    firstSeq: bigint("first_seq", { mode: "number" }).notNull(),
    lastSeq: bigint("last_seq", { mode: "number" }).notNull(),
    deviceId: text("device_id").notNull(),
    /**
     * The ops' results as answered the first time, without their op ids: `{ d: [distinct
     * results], w: [index into d, per seq], h: [fingerprint, per seq] }` (no `w`: every op got
     * `d[0]`; no `h`: recorded before fingerprints; a null result only in records from before
     * results were stored with the claim). The fingerprint tells a replay from another op under a
     * used id (OP_ID_REUSED, claims.ts). json, not jsonb: only JavaScript
     * reads it back, and every push writes it, so the cheaper write wins.
     */
    results: json("results").notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    // BRIN: rows arrive in created_at order, so a block range summary serves the retention purge
    // at a fraction of a btree's cost on every push.
    index("sync_op_runs_created_brin").using("brin", t.createdAt),
  ],
);

/** Edits that lost (last-write-wins) or could not be applied (parent deleted): shown to their author. */
export const syncConflicts = pgTable(
  "sync_conflicts",
  {
    id: id(),
    buildingId: uuid("building_id").notNull(),
    /** The user whose edit lost. */
    userId: uuid("user_id").notNull(),
    deviceId: text("device_id").notNull(),
    opId: text("op_id").notNull(),
    entity: text("entity").notNull(),
    rowId: uuid("row_id").notNull(),
    field: text("field"),
    /** lww (resolved automatically) | unresolvable (reported, not applied) */
    kind: text("kind", { enum: ["lww", "unresolvable"] }).notNull(),
    /** The rule applied: field-lww, delete-wins, parent-deleted. */
    rule: text("rule").notNull(),
    incomingValue: jsonb("incoming_value"),
    incomingHlc: text("incoming_hlc").notNull(),
    currentValue: jsonb("current_value"),
    currentHlc: text("current_hlc"),
    currentUserId: uuid("current_user_id"),
    createdAt: createdAt(),
  },
  (t) => [index("sync_conflicts_user_created_idx").on(t.userId, t.createdAt)],
);

/**
 * Per-building sync bookkeeping. Soft-deleted rows up to `floorVersion` were purged: older
 * cursors must resnapshot (410). `maxHlc` is the newest client clock the building accepted; pulls
 * hand it out so a device's next edit is ordered after everything it has seen (HLC receive).
 */
export const syncTombstoneFloors = pgTable("sync_tombstone_floors", {
  buildingId: uuid("building_id").primaryKey(),
  floorVersion: bigint("floor_version", { mode: "number" }).notNull().default(0),
  maxHlc: text("max_hlc"),
  purgedAt: tstz("purged_at").notNull().defaultNow(),
});

/**
 * The newest sync_version written per synced entity of a building (`{ "announcements": 41, … }`;
 * an entity never written has no key). Kept by statement triggers on the six synced tables
 * (migration 0008), whoever writes them, so it is never below any row's version: a pull reads only
 * the tables whose head is above its cursor (see pull.ts).
 */
export const syncEntityHeads = pgTable("sync_entity_heads", {
  buildingId: uuid("building_id").primaryKey(),
  heads: jsonb("heads").$type<Record<string, number>>().notNull().default({}),
});
