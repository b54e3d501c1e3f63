/**
 * The documented shape of each synced entity's rows, derived from the same column list the pull
 * statement encodes (entities.ts), so the OpenAPI document cannot drift from what a pull sends:
 * a column type pull.ts cannot encode fails here too, at startup. Fields a resident may be
 * denied (`residentHides`) are optional; everything else is always present.
 */
import { z } from "@hono/zod-openapi";
import type { AnyPgColumn } from "drizzle-orm/pg-core";
import { SYNC_ENTITIES, type SyncEntity } from "../../protocol/sync";
import { ENTITIES } from "./entities";

const pascal = (name: string) => name.replace(/(^|_)([a-z])/g, (_m, _sep, c: string) => c.toUpperCase());

function columnSchema(entity: string, key: string, col: AnyPgColumn): z.ZodType {
  const values = (col as { enumValues?: string[] }).enumValues;
  let schema: z.ZodType;
  switch (col.columnType) {
    case "PgUUID":
      schema = z.uuid();
      break;
    case "PgText":
      schema = values?.length ? z.enum(values as [string, ...string[]]) : z.string();
      break;
    case "PgDateString":
      schema = z.string().openapi({ format: "date", example: "2026-07-01" });
      break;
    case "PgInteger":
    case "PgBigInt53":
      schema = z.number().int();
      break;
    case "PgTimestamp":
      schema = z.string().openapi({ format: "date-time", example: "2026-07-01T09:30:00.000Z" });
      break;
    default:
      throw new Error(`sync row schema: no JSON type for ${entity}.${key} (${col.columnType})`);
  }
  return col.notNull ? schema : schema.nullable();
}

function rowSchema(entity: SyncEntity) {
  const def = ENTITIES[entity];
  const hidden = new Set(def.residentHides?.fields ?? []);
  const shape: Record<string, z.ZodType> = {};
  for (const [key, col] of Object.entries(def.columns)) {
    const schema = columnSchema(entity, key, col);
    shape[key] = hidden.has(key)
      ? schema.optional().openapi({ description: "Absent for residents outside this row's apartment" })
      : schema;
  }
  return z.object(shape).openapi(`Sync${pascal(entity)}Row`);
}

function changesSchema(entity: SyncEntity) {
  const row = rowSchema(entity);
  return z
    .object({
      created: z.array(row),
      updated: z.array(row),
      deleted: z.array(z.uuid()).openapi({ description: "Ids to drop locally" }),
    })
    .openapi(`Sync${pascal(entity)}Changes`);
}

/** `changes` of a pull: one optional member per synced entity, each with that entity's rows. */
export const SyncChangesSchema = z
  .object(
    Object.fromEntries(SYNC_ENTITIES.map((e) => [e, changesSchema(e).optional()])) as Record<
      SyncEntity,
      z.ZodOptional<ReturnType<typeof changesSchema>>
    >,
  )
  .openapi("SyncChanges", { description: "Per entity; entities without changes are omitted" });

export const SyncEntitySchema = z.enum(SYNC_ENTITIES).openapi("SyncEntity");
