/**
 * One pagination helper for every list (design property 8): offset mode (`page`, `limit`) and
 * cursor mode (`cursor`, `limit`). Cursors are opaque, HMAC-signed, bound to the list they came
 * from and short-lived; ordering is stable on (sort key, id) so no row is skipped or repeated.
 */
import { z } from "@hono/zod-openapi";
import { and, type SQL, sql } from "drizzle-orm";
import type { AnyPgColumn } from "drizzle-orm/pg-core";
import { ApiError } from "../errors";

export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 100;
const CURSOR_TTL_MS = 24 * 60 * 60 * 1000;

export const PaginationQuerySchema = z.object({
  page: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .optional()
    .openapi({ param: { name: "page", in: "query" }, example: 1, description: "Offset mode: 1-based page" }),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_LIMIT)
    .default(DEFAULT_LIMIT)
    .openapi({
      param: { name: "limit", in: "query" },
      example: 20,
      description: `Page size, 1–${MAX_LIMIT}`,
    }),
  cursor: z
    .string()
    .min(1)
    .max(1024)
    .optional()
    .openapi({
      param: { name: "cursor", in: "query" },
      description: "Cursor mode: nextCursor/prevCursor of a previous page",
    }),
});
export type PaginationQuery = z.infer<typeof PaginationQuerySchema>;

export const PaginationMetaSchema = z
  .object({
    total: z.number().int(),
    limit: z.number().int(),
    page: z.number().int().optional(),
    hasNext: z.boolean(),
    hasPrev: z.boolean(),
    nextCursor: z.string().nullable().optional(),
    prevCursor: z.string().nullable().optional(),
  })
  .openapi("PaginationMeta");
export type PaginationMeta = z.infer<typeof PaginationMetaSchema>;

/** `{ data: Item[], pagination }` response schema for a list of `item`. */
export function paginatedSchema<T extends z.ZodType>(item: T, name: string) {
  return z.object({ data: z.array(item), pagination: PaginationMetaSchema }).openapi(name);
}

export interface Paginated<T> {
  data: T[];
  pagination: PaginationMeta;
}

type SortValue = string | number;
interface CursorPayload {
  /** list scope the cursor belongs to */
  s: string;
  /** sort key value of the boundary row (Dates as epoch ms) */
  k: SortValue;
  /** id of the boundary row */
  i: string;
  /** direction: rows after (n) or before (p) the boundary */
  d: "n" | "p";
  /** expiry, epoch ms */
  e: number;
}

const keyCache = new Map<string, Promise<CryptoKey>>();
function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keyCache.get(secret);
  if (!key) {
    key = crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(`cursor:${secret}`),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
    keyCache.set(secret, key);
  }
  return key;
}

const b64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
function fromB64url(s: string): Uint8Array {
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

export async function encodeCursor(payload: CursorPayload, secret: string): Promise<string> {
  const body = new TextEncoder().encode(JSON.stringify(payload));
  const sig = new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(secret), body));
  return `${b64url(body)}.${b64url(sig)}`;
}

/** Verifies signature, scope and expiry; anything else is INVALID_CURSOR (400), never a 500. */
export async function decodeCursor(
  cursor: string,
  secret: string,
  scope: string,
  now: number,
): Promise<CursorPayload> {
  const invalid = (why: string) =>
    new ApiError("INVALID_CURSOR", `cursor is ${why}; restart from the first page`);
  const [body, sig, extra] = cursor.split(".");
  if (!body || !sig || extra !== undefined || !/^[A-Za-z0-9_-]+$/.test(body + sig))
    throw invalid("malformed");
  let bytes: Uint8Array;
  let signature: Uint8Array;
  try {
    bytes = fromB64url(body);
    signature = fromB64url(sig);
  } catch {
    throw invalid("malformed");
  }
  const ok = await crypto.subtle.verify(
    "HMAC",
    await hmacKey(secret),
    signature as BufferSource,
    bytes as BufferSource,
  );
  if (!ok) throw invalid("not signed by this server");
  let payload: CursorPayload;
  try {
    payload = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw invalid("malformed");
  }
  if (payload.s !== scope) throw invalid("from another list");
  if (typeof payload.e !== "number" || payload.e < now) throw invalid("expired");
  return payload;
}

export interface PaginateOptions<T> {
  query: PaginationQuery;
  /** Identifies the list (route + filters) so a cursor cannot be replayed on another list. */
  scope: string;
  secret: string;
  now?: Date;
  sort: {
    column: AnyPgColumn;
    id: AnyPgColumn;
    direction: "asc" | "desc";
    /** The row's sort key as stored (Date or number or string). */
    key: (row: T) => Date | SortValue;
  };
  where?: SQL;
  fetch: (args: { where?: SQL; orderBy: SQL[]; limit: number; offset: number }) => Promise<T[]>;
  count: (where?: SQL) => Promise<number>;
}

const toCursorValue = (v: Date | SortValue): SortValue => (v instanceof Date ? v.getTime() : v);

export async function paginate<T extends { id: string }>(opts: PaginateOptions<T>): Promise<Paginated<T>> {
  const { query, sort } = opts;
  const limit = Math.min(query.limit ?? DEFAULT_LIMIT, MAX_LIMIT);
  if (query.page !== undefined && query.cursor !== undefined) {
    throw new ApiError("BAD_REQUEST", "use either page or cursor, not both");
  }
  const now = (opts.now ?? new Date()).getTime();
  const desc = sort.direction === "desc";
  // Timestamps are stored with millisecond precision (db/columns.ts), like the cursor's value,
  // so the raw column compares exactly and its (building_id, created_at) index serves the order.
  const key = sql`${sort.column}`;
  const order = (forward: boolean) =>
    desc === forward ? [sql`${key} desc`, sql`${sort.id} desc`] : [sql`${key} asc`, sql`${sort.id} asc`];

  if (query.cursor === undefined) {
    const page = query.page ?? 1;
    const [rows, total] = await Promise.all([
      opts.fetch({ where: opts.where, orderBy: order(true), limit, offset: (page - 1) * limit }),
      opts.count(opts.where),
    ]);
    const last = rows[rows.length - 1];
    const meta: PaginationMeta = { total, page, limit, hasNext: page * limit < total, hasPrev: page > 1 };
    // Offset pages also hand out a cursor, so a client can switch to stable paging at any point.
    if (query.page === undefined && last && meta.hasNext) {
      meta.nextCursor = await encodeCursor(
        { s: opts.scope, k: toCursorValue(sort.key(last)), i: last.id, d: "n", e: now + CURSOR_TTL_MS },
        opts.secret,
      );
    }
    return { data: rows, pagination: meta };
  }

  const cur = await decodeCursor(query.cursor, opts.secret, opts.scope, now);
  const forward = cur.d === "n";
  const value = isDateColumn(sort.column) ? new Date(cur.k as number) : cur.k;
  // Row-value comparison keeps (key, id) ordering stable across equal keys.
  const after = (fwd: boolean) =>
    desc === fwd
      ? sql`(${key}, ${sort.id}) < (${value}, ${cur.i})`
      : sql`(${key}, ${sort.id}) > (${value}, ${cur.i})`;
  const ahead = after(forward);
  const notAhead = sql`not (${ahead})`;
  const [fetched, total, behind] = await Promise.all([
    opts.fetch({
      where: opts.where ? and(opts.where, ahead) : ahead,
      orderBy: order(forward),
      limit: limit + 1,
      offset: 0,
    }),
    opts.count(opts.where),
    // Rows at or behind the boundary: any of them means there is a page in the other direction.
    opts.count(opts.where ? and(opts.where, notAhead) : notAhead),
  ]);
  const more = fetched.length > limit;
  const rows = fetched.slice(0, limit);
  if (!forward) rows.reverse();
  const hasBehind = behind > 0;
  const hasNext = forward ? more : hasBehind;
  const hasPrev = forward ? hasBehind : more;
  const first = rows[0];
  const last = rows[rows.length - 1];
  const make = async (row: T | undefined, d: "n" | "p") =>
    row
      ? encodeCursor(
          { s: opts.scope, k: toCursorValue(sort.key(row)), i: row.id, d, e: now + CURSOR_TTL_MS },
          opts.secret,
        )
      : null;
  return {
    data: rows,
    pagination: {
      total,
      limit,
      hasNext,
      hasPrev,
      nextCursor: hasNext ? await make(last, "n") : null,
      prevCursor: hasPrev ? await make(first, "p") : null,
    },
  };
}

function isDateColumn(column: AnyPgColumn): boolean {
  return (column as { dataType?: string }).dataType === "date";
}
