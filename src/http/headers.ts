/**
 * Response headers without materializing them. @hono/node-server's lightweight Response keeps
 * `[status, body, headers]` under a private symbol, with the headers as the plain object the
 * handler passed; reading `res.headers` turns that into an undici `Headers`, whose every get/set
 * costs more than a whole bare Hono request (measured: one `headers.set` after the handler took a
 * request from 4.6 to 24 µs in process). The middlewares that read or add response headers go
 * through `resHeader` / `setResHeader` here, which edit that plain object while it is one, and use
 * `res.headers` otherwise (Bun's and workerd's native Headers are cheap; a response someone
 * already materialized stays materialized). Names compare case-insensitively (RFC 9110 §5.1),
 * and a set replaces the member of any case, so no header goes out twice.
 */
import { withBody } from "./body";

type Plain = Record<string, string | string[]>;

let cacheSymbol: symbol | null | undefined;

/** The plain header object of a lightweight node-server Response, or null. */
function plainHeaders(res: Response): Plain | null {
  if (cacheSymbol === null) return null;
  if (cacheSymbol === undefined) {
    const sym = Object.getOwnPropertySymbols(res).find((s) => s.description === "cache");
    if (!sym) return null;
    cacheSymbol = sym;
  }
  const entry = (res as unknown as Record<symbol, unknown>)[cacheSymbol];
  if (!Array.isArray(entry)) return null;
  const headers = entry[2];
  // Arrays of pairs and Headers instances take the general path; so does "no headers at all"
  // (node-server would then add its own default content type, which a plain object here would drop).
  if (!headers || typeof headers !== "object" || Array.isArray(headers) || headers instanceof Headers)
    return null;
  return headers as Plain;
}

function keyOf(headers: Plain, lower: string): string | undefined {
  for (const k in headers) if (k.length === lower.length && k.toLowerCase() === lower) return k;
  return undefined;
}

/** The value of response header `name` (lower case), or null. */
export function resHeader(res: Response, name: string): string | null {
  const plain = plainHeaders(res);
  if (!plain) return res.headers.get(name);
  const k = keyOf(plain, name);
  if (k === undefined) return null;
  const v = plain[k]!;
  return Array.isArray(v) ? v.join(", ") : v;
}

/** Sets response header `name` (lower case), replacing it whatever the case it was set in. */
export function setResHeader(res: Response, name: string, value: string): void {
  const plain = plainHeaders(res);
  if (!plain) {
    res.headers.set(name, value);
    return;
  }
  const k = keyOf(plain, name);
  if (k !== undefined && k !== name) delete plain[k];
  plain[name] = value;
}

/** Whether the response carries header `name` (lower case). */
export function hasResHeader(res: Response, name: string): boolean {
  const plain = plainHeaders(res);
  return plain ? keyOf(plain, name) !== undefined : res.headers.has(name);
}

/**
 * A JSON Response with only plain headers: node-server sends it without building a Headers object.
 * The body is remembered (./body.ts) so no middleware reads it back on Bun or workerd.
 */
export function plainJson(body: string, status: number, headers: Record<string, string> = {}): Response {
  return withBody(
    new Response(body, { status, headers: { "content-type": "application/json", ...headers } }),
    body,
  );
}
