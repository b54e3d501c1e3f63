/**
 * What syncs and who sees or writes what, one table per entity. The read rules match the REST
 * routes: members see apartments (full fields only for managers and the apartment's residents)
 * and announcements; residents see their own membership and their apartment's requests,
 * comments and payments; managers see everything of their buildings. Memberships and payments
 * are read-only over sync for everyone (money and roles change through audited REST routes).
 */

import { type SQL, sql } from "drizzle-orm";
import type { AnyPgColumn } from "drizzle-orm/pg-core";
import { z } from "zod";
import {
  announcements,
  apartments,
  maintenanceRequests,
  memberships,
  payments,
  requestComments,
} from "../../db/schema";
import { boundedDateTime } from "../../http/dates";
import type { SyncEntity } from "../../protocol/sync";

export type Role = "manager" | "resident";

export interface SyncActor {
  userId: string;
  role: Role;
  apartmentId: string | null;
}

type Row = Record<string, any>;

export interface FieldDef {
  /** Parses an incoming value into the stored value. */
  input?: z.ZodType;
  /** Settable only on create (parent references). */
  createOnly?: boolean;
  /** Roles that may write the field. */
  writers?: Role[];
}

export interface EntityDef {
  name: SyncEntity;
  table: any;
  /** Every column a client may receive (API name → column), without sync_version / deleted_at. */
  columns: Record<string, AnyPgColumn>;
  fields: Record<string, FieldDef>;
  /** Fields a create must carry (besides id and buildingId). */
  required: string[];
  readOnly: boolean;
  /**
   * Rows a resident reads, as SQL over the table and the caller's `standing` (below); undefined:
   * every row of the building. Managers read every row.
   */
  residentReads?: SQL;
  /**
   * Rows a resident may not see yet, though they may have seen them before (an announcement
   * scheduled for later, or rescheduled): a delta sends them as deletions, a snapshot leaves them
   * out. When such a row becomes visible without a write, something must give it a new version
   * (see scheduled.ts), or a resident whose cursor passed it would never receive it.
   */
  residentHidden?: SQL;
  /** Fields a resident reads only where `when` holds (elsewhere the row goes without them). */
  residentHides?: { fields: string[]; when: SQL };
  /** Columns the server fills on create. */
  serverFields?(actor: SyncActor): Record<string, unknown>;
  /** The parent a row hangs off (create checks it exists and is not deleted). */
  parent?: { field: string; entity: SyncEntity };
  /** May the actor create/update/delete this (existing or proposed) row? */
  canWrite(actor: SyncActor, type: "create" | "update" | "delete", row: Row): boolean;
  /** Children soft-deleted with the row. */
  children?: Array<{ entity: SyncEntity; field: string }>;
}

/**
 * The caller's standing inside the pull statement: columns of its one-row CTE `acc`, which the
 * table reads are lateral to, so to each read they are constants and a table's filters stay
 * conditions on the table alone (see pull.ts).
 */
export const standing = {
  userId: sql.raw("acc.user_id"),
  apartmentId: sql.raw("acc.apartment_id"),
  role: sql.raw("acc.eff"),
  head: sql.raw("acc.head"),
  /** The request's time (ctx.now), as the REST routes use it. */
  now: sql.raw("acc.now"),
};

const text = (max: number, min = 1) => z.string().trim().min(min).max(max);
const intOrNull = z.number().int().min(0).max(1_000_000).nullable();
const M: Role[] = ["manager"];
const MR: Role[] = ["manager", "resident"];
const never = () => false;

const cols = <T extends object>(table: T, names: Array<keyof T & string>) =>
  Object.fromEntries(names.map((n) => [n, table[n] as unknown as AnyPgColumn]));

const timestamps = ["createdAt", "updatedAt"] as const;

export const ENTITIES: Record<SyncEntity, EntityDef> = {
  apartments: {
    name: "apartments",
    table: apartments,
    columns: cols(apartments, ["id", "buildingId", "number", "floor", "areaSqm", "rooms", ...timestamps]),
    fields: {
      number: { input: text(20), writers: M },
      floor: { input: z.number().int().min(-20).max(300).nullable(), writers: M },
      areaSqm: { input: intOrNull, writers: M },
      rooms: { input: intOrNull, writers: M },
    },
    required: ["number"],
    readOnly: false,
    residentHides: { fields: ["areaSqm", "rooms"], when: sql`${apartments.id} = ${standing.apartmentId}` },
    canWrite: (a) => a.role === "manager",
    children: [{ entity: "maintenance_requests", field: "apartmentId" }],
  },
  memberships: {
    name: "memberships",
    table: memberships,
    columns: cols(memberships, ["id", "buildingId", "userId", "apartmentId", "role", ...timestamps]),
    fields: {},
    required: [],
    readOnly: true,
    residentReads: sql`${memberships.userId} = ${standing.userId}`,
    canWrite: never,
  },
  maintenance_requests: {
    name: "maintenance_requests",
    table: maintenanceRequests,
    columns: cols(maintenanceRequests, [
      "id",
      "buildingId",
      "apartmentId",
      "openedBy",
      "assignedTo",
      "title",
      "description",
      "category",
      "priority",
      "status",
      ...timestamps,
    ]),
    fields: {
      apartmentId: { input: z.uuid(), createOnly: true, writers: MR },
      title: { input: text(200), writers: MR },
      description: { input: text(5000, 0), writers: MR },
      category: { input: text(50), writers: MR },
      priority: { input: z.enum(["low", "normal", "high", "urgent"]), writers: MR },
      status: { input: z.enum(["open", "in_progress", "resolved", "rejected"]), writers: M },
      assignedTo: { input: z.uuid().nullable(), writers: M },
    },
    required: ["apartmentId", "title"],
    readOnly: false,
    residentReads: sql`${maintenanceRequests.apartmentId} = ${standing.apartmentId}`,
    serverFields: (a) => ({ openedBy: a.userId }),
    parent: { field: "apartmentId", entity: "apartments" },
    canWrite: (a, type, row) =>
      a.role === "manager" ||
      (row.apartmentId === a.apartmentId && (type !== "delete" || row.openedBy === a.userId)),
    children: [{ entity: "request_comments", field: "requestId" }],
  },
  request_comments: {
    name: "request_comments",
    table: requestComments,
    columns: cols(requestComments, ["id", "buildingId", "requestId", "authorId", "body", ...timestamps]),
    fields: {
      requestId: { input: z.uuid(), createOnly: true, writers: MR },
      body: { input: text(5000), writers: MR },
    },
    required: ["requestId", "body"],
    readOnly: false,
    residentReads: sql`${requestComments.requestId} in (select r.id from maintenance_requests r where r.apartment_id = ${standing.apartmentId})`,
    serverFields: (a) => ({ authorId: a.userId }),
    parent: { field: "requestId", entity: "maintenance_requests" },
    // Visibility of the parent request is checked by the push verb; here: only authors edit.
    canWrite: (a, type, row) =>
      type === "create" || row.authorId === a.userId || (type === "delete" && a.role === "manager"),
  },
  announcements: {
    name: "announcements",
    table: announcements,
    columns: cols(announcements, [
      "id",
      "buildingId",
      "authorId",
      "title",
      "body",
      "priority",
      "publishedAt",
      ...timestamps,
    ]),
    fields: {
      title: { input: text(200), writers: M },
      body: { input: text(20_000), writers: M },
      priority: { input: z.enum(["normal", "important", "urgent"]), writers: M },
      // Bounded like the REST routes (1900–9999): year 0000 parses in JavaScript but not in PostgreSQL.
      publishedAt: { input: boundedDateTime().transform((s) => new Date(s)), writers: M },
    },
    required: ["title", "body"],
    readOnly: false,
    // Scheduled: residents see it from publishedAt on, as over REST (announcements/verbs.ts).
    residentHidden: sql`${announcements.publishedAt} > ${standing.now}`,
    serverFields: (a) => ({ authorId: a.userId }),
    canWrite: (a) => a.role === "manager",
  },
  payments: {
    name: "payments",
    table: payments,
    columns: cols(payments, [
      "id",
      "buildingId",
      "apartmentId",
      "kind",
      "amountMinor",
      "currency",
      "description",
      "dueDate",
      "paidAt",
      "method",
      "recordedBy",
      ...timestamps,
    ]),
    fields: {},
    required: [],
    readOnly: true,
    residentReads: sql`${payments.apartmentId} = ${standing.apartmentId}`,
    canWrite: never,
  },
};

export function entityDef(name: string): EntityDef | undefined {
  return Object.hasOwn(ENTITIES, name) ? ENTITIES[name as SyncEntity] : undefined;
}

/** A stored value as the client sees it (dates as ISO strings). */
export function toWire(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  return value ?? null;
}
