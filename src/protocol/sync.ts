/**
 * The wire protocol of /api/v1/sync, as plain types shared by the SDK and the server (src/protocol/
 * is the one place both import wire shapes from). The server validates the same shapes with zod in
 * its route files; nothing here needs zod, so the SDK may import values (SYNC_ENTITIES) too.
 */
export const SYNC_ENTITIES = [
  "apartments",
  "memberships",
  "maintenance_requests",
  "request_comments",
  "announcements",
  "payments",
] as const;
export type SyncEntity = (typeof SYNC_ENTITIES)[number];

export type SyncRow = { id: string; buildingId: string } & Record<string, unknown>;

export type OpType = "create" | "update" | "delete";

export interface PushOp {
  opId: string;
  type: OpType;
  entity: string;
  id: string;
  fields?: Record<string, unknown>;
  /** Hybrid logical clock of the edit (see hlc.ts). */
  hlc: string;
}

export type OpStatus = "applied" | "superseded" | "rejected";

export interface OpResult {
  opId: string;
  status: OpStatus;
  /** Rejections: why (UNKNOWN_ENTITY, READ_ONLY, FORBIDDEN_FIELD, NOT_FOUND, PARENT_DELETED, ...). */
  reason?: string;
  detail?: string;
  /** The building version the op was written at (applied and superseded ops). */
  version?: number;
  buildingId?: string;
  /** Fields of this op that lost to newer writes (recorded as conflicts). */
  superseded?: string[];
  /** The clock after clamping, when the server clamped a clock from the future. */
  clampedHlc?: string;
}

export interface PushRequest {
  deviceId: string;
  ops: PushOp[];
  /** Ops still queued on the device after this batch, per entity (sync_state). */
  pending?: Record<string, number>;
}

export interface PushResponse {
  results: OpResult[];
}

export interface PullRequest {
  deviceId?: string;
  buildings: Record<string, number | null>;
  limit?: number;
  pending?: Record<string, number>;
}

export interface EntityChanges {
  created: SyncRow[];
  updated: SyncRow[];
  deleted: string[];
}

export interface PullResponse {
  changes: Partial<Record<SyncEntity, EntityChanges>>;
  cursors: Record<string, number | null>;
  hasMore: boolean;
  /** Buildings answered with a full snapshot: drop local rows of these buildings first. */
  reset: string[];
  /** Buildings the caller cannot read (not a member, or no such building): drop them locally. */
  errors: Record<string, { code: string; detail: string }>;
  /** Newest edit clock these buildings accepted: merge it into the device clock (HLC receive). */
  clock: string | null;
}
