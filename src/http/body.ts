/**
 * Response bodies without re-reading them. The middlewares that need a response's bytes (payload
 * size, ETag, compression, sparse fields) ask `responseBody(c)`, which finds the body the
 * response was built from where the runtime keeps it: on responses this module built
 * (`withBody`), and in @hono/node-server's lightweight Response (its cache entry holds the string
 * a handler passed to c.json). Only other responses are read once and rebuilt around the bytes,
 * which on Bun and Workers is a native, cheap copy. Reading `res.body` is avoided on purpose: it
 * turns node-server's lightweight Response into a full one and costs most of a request.
 */
import type { Context } from "hono";
import type { AppEnv } from "./env";

type Body = string | Uint8Array;
const BODY = Symbol("horizon.body");
type Remembered = Response & { [BODY]?: Body };
const encoder = new TextEncoder();

/** @hono/node-server keeps `[status, body, headers]` under a private symbol named "cache". */
let nodeServerCache: symbol | null | undefined;
function nodeServerBody(res: Response): Body | null | undefined {
  if (nodeServerCache === null) return undefined;
  if (nodeServerCache === undefined) {
    const sym = Object.getOwnPropertySymbols(res).find((s) => s.description === "cache");
    if (!sym) return undefined;
    nodeServerCache = sym;
  }
  const entry = (res as unknown as Record<symbol, unknown>)[nodeServerCache];
  if (!Array.isArray(entry)) return undefined;
  const body = entry[1];
  return typeof body === "string" || body instanceof Uint8Array || body === null ? body : undefined;
}

function known(res: Response): Body | null | undefined {
  return (res as Remembered)[BODY] ?? nodeServerBody(res);
}

/** Registers the body a response was built from (for middlewares that replace `c.res`). */
export function withBody(res: Response, body: Body): Response {
  (res as Remembered)[BODY] = body;
  return res;
}

/**
 * A 200 response of JSON the handler serialized itself (text, or UTF-8 bytes from utf8Concat),
 * remembered, so the response log, ETag and compression take its size without reading it back.
 */
export function jsonBody(c: Context<AppEnv>, body: string | Uint8Array<ArrayBuffer>): Response {
  const headers = { "content-type": "application/json" };
  // Two calls only because Hono's overloads do not take the union.
  const res = typeof body === "string" ? c.body(body, 200, headers) : c.body(body, 200, headers);
  return withBody(res, body);
}

/**
 * Makes `c.json` remember the text it sends (as `jsonBody` does), so the response log, ETag and
 * compression never read a JSON body back. On Node, @hono/node-server's lightweight Response
 * already exposes the string; on Bun and in workerd a Response built from a string is native and
 * opaque, and reading it back (arrayBuffer, then a new Response around the bytes) cost ~10 µs
 * per request on Bun. Same serialization and default content type as Hono's own `c.json`.
 *
 * While no `c.header()` has prepared headers and nothing finalized the response, `c.json(value,
 * status?, headers?)` also keeps the headers a plain object: Hono turns any second header into a
 * `Headers`, which on Node is undici's and makes every later header read and write, and
 * node-server's send, take its slow path (src/http/headers.ts). Routes pass their Cache-Control
 * as `c.json(value, 200, { "Cache-Control": … })` for that reason.
 *
 * Not installed where responses already expose their body (`needsRememberedJson()`: Node under
 * @hono/node-server): there, replacing three of Hono's per-context closures cost more than it saves
 * (measured: the process heap grew ~100 MB under load and GC took a tenth of the CPU).
 */
export function rememberJsonBodies(c: Context<AppEnv>): void {
  const body = c.body as (data: string, arg?: unknown, headers?: HeaderRecord) => Response;
  const header = c.header;
  const setStatus = c.status;
  let prepared = false;
  let status: number | undefined;
  c.header = ((...args: Parameters<typeof header>) => {
    prepared = true;
    return header(...args);
  }) as typeof c.header;
  c.status = ((code: Parameters<typeof setStatus>[0]) => {
    status = code;
    return setStatus(code);
  }) as typeof c.status;
  c.json = ((object: unknown, arg?: unknown, headers?: HeaderRecord) => {
    const text = JSON.stringify(object);
    if (!prepared && !c.finalized && (arg === undefined || typeof arg === "number")) {
      const plain = plainJsonHeaders(headers);
      if (plain)
        return withBody(
          new Response(text, { status: (arg as number) ?? status ?? 200, headers: plain }),
          text,
        );
    }
    return withBody(body(text, arg, { "Content-Type": "application/json", ...headers }), text);
  }) as typeof c.json;
}

type HeaderRecord = Record<string, string | string[]>;

let opaqueResponses: boolean | undefined;

/**
 * Whether this runtime's Response hides the body it was built from (Bun, workerd, undici), so
 * `rememberJsonBodies` pays for itself. Decided on first use, when the host's Response is in place.
 */
export function needsRememberedJson(): boolean {
  opaqueResponses ??= nodeServerBody(new Response("")) === undefined;
  return opaqueResponses;
}

/** `headers` with a JSON content type unless they name one; null if a value is not a string. */
function plainJsonHeaders(headers: HeaderRecord | undefined): Record<string, string> | null {
  const out: Record<string, string> = {};
  let typed = false;
  for (const k in headers) {
    const v = headers[k];
    if (typeof v !== "string") return null;
    if (k.length === 12 && k.toLowerCase() === "content-type") typed = true;
    out[k] = v;
  }
  if (!typed) out["content-type"] = "application/json";
  return out;
}

/** Node and Bun count a string's UTF-8 bytes natively, without encoding a copy of it. */
const nativeByteLength = (globalThis as { Buffer?: { byteLength(s: string): number } }).Buffer?.byteLength;

export function byteLength(body: Body): number {
  if (typeof body !== "string") return body.byteLength;
  return nativeByteLength ? nativeByteLength(body) : encoder.encode(body).byteLength;
}

interface NodeBuffer extends Uint8Array<ArrayBuffer> {
  write(text: string, offset: number): number;
}
const nodeBuffer = (globalThis as { Buffer?: { allocUnsafe(size: number): NodeBuffer } }).Buffer;

/**
 * `parts` joined, as UTF-8 bytes written straight into one buffer where the runtime has Buffer
 * (Node, Bun, Workers with nodejs_compat); elsewhere the joined string. A large body built as a
 * string is allocated three times over before it is sent — the joined string, its flattened
 * concatenation, the encoded copy the Response makes — and each large allocation is fresh memory:
 * for a 380 KB sync pull on Node that was 2.6 ms, against 0.2 ms for this.
 */
export function utf8Concat(parts: string[]): Uint8Array<ArrayBuffer> | string {
  if (!nodeBuffer || !nativeByteLength) return parts.join("");
  let size = 0;
  for (const part of parts) size += nativeByteLength(part);
  const bytes = nodeBuffer.allocUnsafe(size);
  let at = 0;
  for (const part of parts) at += bytes.write(part, at);
  return bytes;
}

export function toBytes(body: Body): Uint8Array {
  return typeof body === "string" ? encoder.encode(body) : body;
}

/**
 * Whether a response has a body, without touching `res.body` for remembered ones (reading
 * `.body` materializes @hono/node-server's lightweight Response into a full one).
 */
export function hasBody(res: Response): boolean {
  const remembered = known(res);
  if (remembered === null) return false;
  return remembered !== undefined ? byteLengthNonZero(remembered) : res.body !== null;
}

const byteLengthNonZero = (body: Body) => (typeof body === "string" ? body.length > 0 : body.byteLength > 0);

/**
 * The body of `c.res` as built, or null for streams and bodiless responses: at once when the body
 * is remembered (no promise: on Node every promise costs a hook call per AsyncLocalStorage), else
 * read once and `c.res` rebuilt around the bytes, so later readers share it.
 */
export function responseBody(
  c: Context<AppEnv>,
  options: { streamTypes?: RegExp } = {},
): Body | null | Promise<Body | null> {
  const res = c.res;
  const remembered = known(res);
  if (remembered !== undefined) return remembered;
  if (!res.body) return null;
  const streamTypes = options.streamTypes ?? /^(text\/event-stream|application\/octet-stream|multipart\/)/;
  if (streamTypes.test(res.headers.get("content-type") ?? "")) return null;
  return readBack(c, res);
}

async function readBack(c: Context<AppEnv>, res: Response): Promise<Uint8Array> {
  const bytes = new Uint8Array(await res.arrayBuffer());
  c.res = undefined as never;
  c.res = withBody(
    new Response(bytes, { status: res.status, statusText: res.statusText, headers: res.headers }),
    bytes,
  );
  return bytes;
}
