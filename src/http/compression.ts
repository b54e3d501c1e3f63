/**
 * Response compression (design property 10) for hosts that do not compress at the edge
 * (`services.compressInApp`; Workers leave it to Cloudflare). Follows RFC 9110 §12.5.3:
 * codings are chosen by q-value, `q=0` refuses a coding, `*` stands for codings not listed, and
 * `identity` stays acceptable unless refused. Brotli wins ties (smaller at the same cost).
 * Only bodies of at least `minBytes` and of compressible types are encoded; never already
 * compressed media, event streams, or `Cache-Control: no-transform` (RFC 9111 §5.2.2.6).
 * Compressible responses always carry `Vary: Accept-Encoding`, compressed or not, so shared
 * caches key on it.
 */
import { promisify } from "node:util";
import { brotliCompress, brotliCompressSync, constants, gzip, gzipSync } from "node:zlib";
import type { Context, MiddlewareHandler } from "hono";
import { hasBody, responseBody, toBytes, withBody } from "./body";
import type { AppEnv } from "./env";
import { hasResHeader, resHeader, setResHeader } from "./headers";

export type Coding = "br" | "gzip" | "identity";

const COMPRESSIBLE =
  /^(text\/(?!event-stream)|application\/(json|problem\+json|[\w.+-]*\+json|[\w.+-]*\+xml|xml|javascript|x-ndjson|graphql-response\+json)|image\/svg\+xml)/i;

/** True for content types worth compressing (text-like; never images, archives or streams). */
export function isCompressible(contentType: string | null): boolean {
  return Boolean(contentType && COMPRESSIBLE.test(contentType.trim()));
}

/**
 * Picks the coding for an `Accept-Encoding` value. No header means the client asked for nothing,
 * so identity. Among br and gzip the highest q wins (br on ties), unless identity is preferred
 * by a strictly higher q.
 */
export function negotiateEncoding(header: string | undefined | null): Coding {
  if (header === undefined || header === null) return "identity";
  const q = new Map<string, number>();
  for (const part of header.split(",")) {
    const [rawName, ...params] = part.split(";");
    const name = rawName!.trim().toLowerCase();
    if (!name) continue;
    let weight = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([01](?:\.\d{0,3})?)\s*$/i.exec(p);
      if (m) weight = Math.min(1, Number(m[1]));
      else if (/^\s*q\s*=/i.test(p)) weight = 0; // an unreadable q is no permission
    }
    const key = name === "x-gzip" ? "gzip" : name;
    q.set(key, Math.max(q.get(key) ?? -1, weight));
  }
  const star = q.get("*");
  const br = q.get("br") ?? star ?? 0;
  const gz = q.get("gzip") ?? star ?? 0;
  // Unlisted identity is acceptable but expresses no preference, so it only wins when named.
  const identity = q.get("identity") ?? star ?? 0;
  const best: Coding = br >= gz ? "br" : "gzip";
  const bestQ = Math.max(br, gz);
  if (bestQ <= 0 || identity > bestQ) return "identity";
  return best;
}

export interface CompressionOptions {
  /** Smallest body worth encoding, in bytes. Default 1024. */
  minBytes?: number;
  /** Brotli quality: 4-5 gives most of the gain at a fraction of the default 11's cost. */
  brotliQuality?: number;
  gzipLevel?: number;
}

/** Bodies above this are compressed on the thread pool instead of the event loop. */
const ASYNC_ABOVE = 128 * 1024;
const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);

export function compress(body: Uint8Array, coding: "br" | "gzip", options: CompressionOptions = {}) {
  const brotli = {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: options.brotliQuality ?? 4,
      [constants.BROTLI_PARAM_SIZE_HINT]: body.byteLength,
    },
  };
  const gz = { level: options.gzipLevel ?? 6 };
  if (body.byteLength > ASYNC_ABOVE) return coding === "br" ? brotliAsync(body, brotli) : gzipAsync(body, gz);
  return Promise.resolve(coding === "br" ? brotliCompressSync(body, brotli) : gzipSync(body, gz));
}

/** The coding `compression()` will apply to a response, or null when it leaves it alone. */
export function plannedCoding(c: Context<AppEnv>, res: Response): Coding | null {
  const services = c.get("services");
  if (services && !services.compressInApp) return null;
  if (!isCompressible(resHeader(res, "content-type"))) return null;
  const cacheControl = resHeader(res, "cache-control");
  if (cacheControl && /(^|,)\s*no-transform\s*(,|$)/i.test(cacheControl)) return null;
  return negotiateEncoding(c.req.header("accept-encoding"));
}

/** The tag of the encoded representation: a strong tag names one representation (RFC 9110 §8.8.3). */
export function encodedEtag(tag: string, coding: Coding): string {
  if (coding === "identity" || !tag.endsWith('"') || tag.startsWith("W/")) return tag;
  return `${tag.slice(0, -1)}.${coding === "br" ? "br" : "gz"}"`;
}

/** Adds `value` to the response's Vary unless it is there already (or Vary is `*`). */
export function addVary(res: Response, value: string) {
  const vary = resHeader(res, "vary");
  if (!vary) setResHeader(res, "vary", value);
  else if (
    vary.trim() !== "*" &&
    !vary
      .toLowerCase()
      .split(/\s*,\s*/)
      .includes(value.toLowerCase())
  )
    setResHeader(res, "vary", `${vary}, ${value}`);
}

export function minBytesOf(c: Context<AppEnv>, options: CompressionOptions = {}): number {
  return options.minBytes ?? c.get("services")?.config.COMPRESSION_MIN_BYTES ?? 1024;
}

export function compression(options: CompressionOptions = {}): MiddlewareHandler<AppEnv> {
  return async function compressionMiddleware(c, next) {
    await next();
    const pending = compressResponse(c, options);
    if (pending) await pending;
  };
}

const NOT_ENCODED = /^(text\/event-stream|multipart\/)/;

/**
 * The response half of `compression()`: encodes `c.res` as negotiated when it is worth it.
 * Returns a promise only when it encodes (or has to read the body back).
 */
export function compressResponse(
  c: Context<AppEnv>,
  options: CompressionOptions = {},
): Promise<void> | undefined {
  const res = c.res;
  if (!hasBody(res) || res.status === 204 || res.status === 304 || res.status === 206) return;
  const coding = plannedCoding(c, res);
  if (coding === null) return;
  addVary(res, "Accept-Encoding");
  if (coding === "identity" || hasResHeader(res, "content-encoding")) return;
  const minBytes = minBytesOf(c, options);
  const declared = Number(resHeader(res, "content-length") ?? Number.NaN);
  if (declared < minBytes) return;
  const built = responseBody(c, { streamTypes: NOT_ENCODED });
  if (built instanceof Promise) return built.then((read) => encode(c, read, coding, minBytes, options));
  return encode(c, built, coding, minBytes, options);
}

function encode(
  c: Context<AppEnv>,
  built: string | Uint8Array | null,
  coding: "br" | "gzip",
  minBytes: number,
  options: CompressionOptions,
): Promise<void> | undefined {
  if (built === null) return;
  const body = toBytes(built);
  if (body.byteLength < minBytes) return;
  return compress(body, coding, options).then((out) => {
    const res = c.res;
    const headers = new Headers(res.headers);
    headers.set("content-encoding", coding);
    headers.delete("accept-ranges");
    const tag = headers.get("etag");
    if (tag) headers.set("etag", encodedEtag(tag, coding));
    headers.set("content-length", String(out.byteLength));
    c.res = undefined as never;
    c.res = withBody(
      new Response(out as Uint8Array<ArrayBuffer>, {
        status: res.status,
        statusText: res.statusText,
        headers,
      }),
      out,
    );
  });
}
