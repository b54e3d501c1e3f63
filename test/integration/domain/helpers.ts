/** Small request helpers for the domain suites: JSON in, `{ status, body, headers }` out. */
import { eq, type SQL, sql } from "drizzle-orm";
import { auditLogs, buildings } from "../../../src/db/schema";
import { queryRows } from "../../../src/platform/db";
import type { TestApp } from "../../support/app";
import type { TestUser } from "../../support/fixtures";

export interface Reply {
  status: number;
  body: any;
  headers: Headers;
}

export async function call(
  t: TestApp,
  method: string,
  path: string,
  user: TestUser | null,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const init: RequestInit = {
    method,
    headers: {
      ...(user ? user.auth : {}),
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
  };
  const res = await t.request(`/api/v1${path}`, init);
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    /* keep text */
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

export async function buildingVersion(t: TestApp, buildingId: string): Promise<number> {
  const [row] = await t.services.database.db
    .select({ v: buildings.syncVersion })
    .from(buildings)
    .where(eq(buildings.id, buildingId));
  return row!.v;
}

export function auditRows(t: TestApp, entityId: string) {
  return t.services.database.db
    .select()
    .from(auditLogs)
    .where(eq(auditLogs.entityId, entityId))
    .orderBy(auditLogs.seq);
}

/**
 * Makes audit inserts fail for rows whose changes mention `marker`: a real database fault in the
 * middle of a write transaction, to prove nothing of the write survives.
 */
export async function failAuditsMentioning(t: TestApp, marker: string) {
  const fn = `test_fail_audit_${marker.replace(/\W/g, "_")}`;
  await t.services.database.db.execute(
    sql.raw(`create or replace function ${fn}() returns trigger language plpgsql as $$
      begin
        if new.changes::text like '%${marker}%' then raise exception 'audit store unavailable'; end if;
        return new;
      end $$`),
  );
  await t.services.database.db.execute(
    sql.raw(`create trigger ${fn} before insert on audit_logs for each row execute function ${fn}()`),
  );
}

export const NIL_UUID = "00000000-0000-4000-8000-000000000000";

/** The first row of a raw query. */
export async function queryOne<T>(t: TestApp, query: SQL): Promise<T> {
  return (await queryRows<T>(t.services.database.db, query))[0]!;
}
