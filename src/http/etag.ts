/**
 * Entity tags for GET responses and preconditions for writes (design property 11).
 *
 * - GET/HEAD 200 responses get a strong ETag: the first 128 bits of SHA-256 over the body bytes,
 *   base64url, quoted. `etagOf(value)` computes the same tag from the value a route passes to
 *   `c.json(value)`, so a write route can compare against what GET served.
 * - `If-None-Match` (`*`, one tag or a list) uses the weak comparison of RFC 9110 §13.1.2 ("two
 *   entity tags are equivalent if their opaque-tags match character-by-character, regardless of
 *   either or both being tagged as weak"); a match answers 304 with only the fields §15.4.5 says a
 *   304 must repeat (Cache-Control, Content-Location, Date, ETag, Expires, Vary) plus our own
 *   operational headers. A malformed header is a 400, never a 500.
 * - Writes call `checkIfMatch(c, currentEtag)`: `If-Match` uses the strong comparison (§13.1.1),
 *   and a mismatch is 412 PRECONDITION_FAILED problem+json.
 * The compression middleware appends `.gz`/`.br` to the tag of an encoded representation (a
 * strong tag must differ per content coding); comparisons ignore that suffix.
 */
import * as nodeCrypto from "node:crypto";
import type { Context, MiddlewareHandler, Next } from "hono";
import { ApiError } from "../errors";
import { byteLength, hasBody, responseBody } from "./body";
import { addVary, encodedEtag, minBytesOf, plannedCoding } from "./compression";
import type { AppEnv } from "./env";
import { hasResHeader, resHeader, setResHeader } from "./headers";

const CODING_SUFFIX = /\.(gz|br)$/;
/** entity-tag = [ W/ ] DQUOTE *etagc DQUOTE ; etagc = %x21 / %x23-7E / obs-text */
const ENTITY_TAG = /^(W\/)?"([\x21\x23-\x7e\x80-\xff]*)"$/;
const OPAQUE = /^[\x21\x23-\x7e\x80-\xff]*$/;
const MAX_TAGS = 64;

export interface EntityTag {
  weak: boolean;
  /** The opaque-tag without quotes and without a content-coding suffix. */
  opaque: string;
}

/** `crypto.hash` (Node ≥ 20.12): a one-shot digest without a Hash object, about twice as fast for small bodies. */
const oneShot = (nodeCrypto as { hash?: (alg: string, data: Uint8Array | string, enc: "buffer") => Buffer })
  .hash;

/** The strong ETag of a body (bytes or text). */
export function etagOfBytes(body: Uint8Array | string): string {
  const digest = oneShot
    ? oneShot("sha256", body, "buffer")
    : nodeCrypto.createHash("sha256").update(body).digest();
  return `"${digest.subarray(0, 16).toString("base64url")}"`;
}

/** The strong ETag GET would send for `c.json(value)` (same serialization, same hash). */
export function etagOf(value: unknown): string {
  return etagOfBytes(JSON.stringify(value));
}

export function parseEntityTag(raw: string): EntityTag | null {
  const m = ENTITY_TAG.exec(raw.trim());
  if (!m) return null;
  return { weak: Boolean(m[1]), opaque: m[2]!.replace(CODING_SUFFIX, "") };
}

/**
 * Parses `If-None-Match` / `If-Match`: `*` or a comma list of entity tags (RFC 9110 §13.1.1-2).
 * Returns "*" or the list; throws 400 on anything else.
 */
export function parseEtagList(header: string, name: string): "*" | EntityTag[] {
  const s = header.trim();
  if (s === "*") return "*";
  const bad = (why: string) => new ApiError("BAD_REQUEST", `malformed ${name} header: ${why}`);
  const tags: EntityTag[] = [];
  let i = 0;
  const skip = (chars: string) => {
    while (i < s.length && chars.includes(s[i]!)) i++;
  };
  while (i < s.length) {
    skip(" \t,"); // OWS and empty list elements (RFC 9110 §5.6.1)
    if (i >= s.length) break;
    const weak = s.startsWith("W/", i);
    if (weak) i += 2;
    if (s[i] !== '"') throw bad('expected * or a list of "entity-tags"');
    const end = s.indexOf('"', i + 1);
    if (end === -1) throw bad("unterminated entity-tag");
    const opaque = s.slice(i + 1, end);
    if (!OPAQUE.test(opaque)) throw bad("invalid character in entity-tag");
    tags.push({ weak, opaque: opaque.replace(CODING_SUFFIX, "") });
    if (tags.length > MAX_TAGS) throw bad(`more than ${MAX_TAGS} entity-tags`);
    i = end + 1;
    skip(" \t");
    if (i < s.length && s[i] !== ",") throw bad("entity-tags must be separated by commas");
  }
  if (!tags.length) throw bad("empty");
  return tags;
}

/** Weak comparison (If-None-Match): opaque tags equal, weakness ignored. */
export function weakMatch(list: "*" | EntityTag[], current: string): boolean {
  if (list === "*") return true;
  const cur = parseEntityTag(current);
  return Boolean(cur && list.some((t) => t.opaque === cur.opaque));
}

/** Strong comparison (If-Match): both strong and opaque tags equal. */
export function strongMatch(list: "*" | EntityTag[], current: string): boolean {
  if (list === "*") return true;
  const cur = parseEntityTag(current);
  return Boolean(cur && !cur.weak && list.some((t) => !t.weak && t.opaque === cur.opaque));
}

/** Headers a 304 keeps: RFC 9110 §15.4.5 plus operational ones that describe the exchange. */
const KEEP_ON_304 = [
  "cache-control",
  "content-location",
  "date",
  "etag",
  "expires",
  "vary",
  "x-correlation-id",
  "server-timing",
  "ratelimit-limit",
  "ratelimit-remaining",
  "ratelimit-reset",
  "ratelimit-policy",
  "deprecation",
  "sunset",
  "link",
];

const STREAMING = /^(text\/event-stream|multipart\/)/;

export interface EtagOptions {
  /** Bodies above this are not hashed (their transfer dominates anyway). Default 4 MiB. */
  maxBytes?: number;
}

const DEFAULT_MAX_BYTES = 4 * 1024 * 1024;

/** Strong ETags on GET/HEAD 200 responses and `If-None-Match` → 304 (RFC 9110 §13.1.2). */
export function etag(options: EtagOptions = {}): MiddlewareHandler<AppEnv> {
  // Only GET and HEAD are tagged; other methods pass straight through (no async frame of their own).
  return function etagMiddleware(c, next) {
    const method = c.req.method;
    return method === "GET" || method === "HEAD" ? tagged(c, next) : next();
  };

  async function tagged(c: Context<AppEnv>, next: Next): Promise<void> {
    const wanted = ifNoneMatchOf(c);
    await next();
    const pending = tagResponse(c, wanted, options);
    if (pending) await pending;
  }
}

/**
 * The request half of `etag()`: the parsed `If-None-Match` of a GET or HEAD (undefined without
 * one, or for other methods). Parsed before the handler runs: a malformed header is the client's
 * error (400), whatever the route.
 */
export function ifNoneMatchOf(c: Context<AppEnv>): "*" | EntityTag[] | undefined {
  const method = c.req.method;
  if (method !== "GET" && method !== "HEAD") return undefined;
  const header = c.req.header("if-none-match");
  return header === undefined ? undefined : parseEtagList(header, "If-None-Match");
}

/**
 * The response half of `etag()` for a GET or HEAD: tags a 200 and answers 304 when `wanted`
 * matches. Returns a promise only when the body had to be read back.
 */
export function tagResponse(
  c: Context<AppEnv>,
  wanted: "*" | EntityTag[] | undefined,
  options: EtagOptions = {},
): Promise<void> | undefined {
  const res = c.res;
  if (res.status !== 200 || !hasBody(res) || hasResHeader(res, "content-encoding")) return;
  if (STREAMING.test(resHeader(res, "content-type") ?? "")) return;
  const tag = resHeader(res, "etag");
  if (tag) return answer(c, wanted, tag);
  const length = Number(resHeader(res, "content-length") ?? 0);
  if (length > (options.maxBytes ?? DEFAULT_MAX_BYTES)) return;
  const body = responseBody(c, { streamTypes: STREAMING });
  if (body instanceof Promise) return body.then((read) => tagBody(c, wanted, read));
  return tagBody(c, wanted, body);
}

function tagBody(
  c: Context<AppEnv>,
  wanted: "*" | EntityTag[] | undefined,
  body: string | Uint8Array | null,
): undefined {
  if (body === null) return;
  const tag = etagOfBytes(body);
  setResHeader(c.res, "etag", tag);
  setResHeader(c.res, "content-length", String(byteLength(body)));
  return answer(c, wanted, tag);
}

/** A 304 in place of the response when `wanted` matches its `tag`. */
function answer(c: Context<AppEnv>, wanted: "*" | EntityTag[] | undefined, tag: string): undefined {
  if (!wanted || !weakMatch(wanted, tag)) return;
  // Answer as the 200 would have been sent: the encoded representation's tag and its Vary.
  const coding = plannedCoding(c, c.res);
  if (coding !== null) {
    addVary(c.res, "Accept-Encoding");
    const length = Number(resHeader(c.res, "content-length") ?? 0);
    if (length >= minBytesOf(c)) setResHeader(c.res, "etag", encodedEtag(tag, coding));
  }
  const headers = new Headers();
  for (const name of KEEP_ON_304) {
    const v = resHeader(c.res, name);
    if (v !== null) headers.set(name, v);
  }
  c.res = undefined as never;
  c.res = new Response(null, { status: 304, headers });
}

export interface IfMatchOptions {
  /** Refuse writes without `If-Match` (428 PRECONDITION_REQUIRED). Default false. */
  required?: boolean;
}

/**
 * For write routes (optimistic concurrency, RFC 9110 §13.1.1): compares `If-Match` with the
 * current ETag of the resource (`etagOf(representationAsGetReturnsIt)`, or null when it does not
 * exist) and throws 412 PRECONDITION_FAILED when the client's copy is outdated. Without the
 * header the write proceeds unless `required`.
 */
export function checkIfMatch(c: Context, currentEtag: string | null, options: IfMatchOptions = {}): void {
  const header = c.req.header("if-match");
  if (header === undefined) {
    if (options.required)
      throw new ApiError("PRECONDITION_REQUIRED", "send If-Match with the ETag of the version you edit");
    return;
  }
  const list = parseEtagList(header, "If-Match");
  if (currentEtag !== null && strongMatch(list, currentEtag)) return;
  throw new ApiError(
    "PRECONDITION_FAILED",
    currentEtag === null
      ? "the resource does not exist"
      : "the resource changed since you read it; fetch it again and reapply your change",
    {
      extensions: currentEtag === null ? {} : { currentEtag },
      headers: currentEtag === null ? {} : { ETag: currentEtag },
    },
  );
}
