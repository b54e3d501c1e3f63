/**
 * Fuzz replay (issue 14): every operation of the app's own OpenAPI document receives the input
 * classes that found 5xx from outside — NUL and lone surrogates in every string (body field,
 * path, query, header), year-0000 and year-99999 dates, huge numbers, wrong types, invented keys
 * in objects and maps, and another building's ids — on PGlite and on PostgreSQL + Redis, signed
 * in as a manager of a fresh building (an admin for admin operations).
 *
 * Every answer must be below 500, and every 4xx must be problem+json with a `code` and a
 * `correlationId`. The run is bounded and reproducible: each operation gets a valid baseline
 * request and at most FUZZ_VARIANTS variants (default 80; `all` for every one), picked round-robin
 * across the classes with a PRNG seeded by FUZZ_SEED and the operation, so a failure replays.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import webpush from "web-push";
import { type Access, routeAccess } from "../../src/http/openapi";
import type { Kv } from "../../src/platform/kv";
import { createRedisKv } from "../../src/platform/kv/redis";
import { createHashWasmHasher } from "../../src/platform/password/hash-wasm";
import { freshObjects } from "../contract/protected-routes";
import { createTestApp, type TestApp } from "../support/app";
import type { DbKind } from "../support/db";
import { REDIS_URL } from "../support/env";
import { createBuilding, createUser, type TestBuilding, type TestUser, tokenFor } from "../support/fixtures";
import { hlcAt } from "./sync/helpers";

const SEED = Number(process.env.FUZZ_SEED ?? 14);
/** Variants per operation; `all` sends every variant (thousands per engine: for a manual deep run). */
const PER_OP =
  process.env.FUZZ_VARIANTS === "all" ? Number.POSITIVE_INFINITY : Number(process.env.FUZZ_VARIANTS ?? 80);
const VAPID = webpush.generateVAPIDKeys();
const ENV = {
  RATE_LIMIT_ENABLED: "false",
  LOGIN_MAX_PER_ACCOUNT: "100000",
  // GET /push/vapid-public-key serves the configured key.
  VAPID_PUBLIC_KEY: VAPID.publicKey,
  VAPID_PRIVATE_KEY: VAPID.privateKey,
  // freshObjects registers a webhook endpoint at a loopback discard port (allowlisted, never contacted).
  OUTBOUND_ALLOW_HOSTS: "127.0.0.1:9",
};
const PASSWORD = "Fuzz-Password-123!";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Schema = Record<string, any>;
interface Operation {
  method: string;
  /** full path in the document, e.g. /api/v1/buildings/{buildingId} */
  path: string;
  /** path under the version prefix, as routeAccess keys it */
  route: string;
  id: string;
  params: Array<{ name: string; in: "path" | "query" | "header"; schema: Schema; required: boolean }>;
  body: Schema | null;
}

// ---------------------------------------------------------------------------------------------
// The document
// ---------------------------------------------------------------------------------------------

async function loadDocument(): Promise<any> {
  const t = await createTestApp({ env: ENV });
  try {
    return await (await t.request("/openapi.json")).json();
  } finally {
    await t.close();
  }
}

function resolver(doc: any) {
  const resolve = (s: any): any => {
    let out = s;
    for (let i = 0; out && typeof out === "object" && typeof out.$ref === "string" && i < 20; i++) {
      const parts = (out.$ref as string).replace(/^#\//, "").split("/");
      out = parts.reduce((o: any, k) => o?.[k], doc);
    }
    return out ?? {};
  };
  return resolve;
}

function operationsOf(doc: any): Operation[] {
  const resolve = resolver(doc);
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries<any>(doc.paths ?? {})) {
    for (const method of ["get", "post", "put", "patch", "delete"]) {
      const op = item?.[method];
      if (!op) continue;
      const params = [...(item.parameters ?? []), ...(op.parameters ?? [])].map(resolve).map((p: any) => ({
        name: p.name as string,
        in: p.in,
        schema: resolve(p.schema ?? {}),
        required: Boolean(p.required),
      }));
      const media = op.requestBody?.content?.["application/json"];
      ops.push({
        method: method.toUpperCase(),
        path,
        route: path.replace(/^\/api\/v\d+(?=\/)/, ""),
        id: op.operationId ?? `${method.toUpperCase()} ${path}`,
        params,
        body: media ? resolve(media.schema ?? {}) : null,
      });
    }
  }
  return ops;
}

// ---------------------------------------------------------------------------------------------
// Baselines: a request the operation accepts, so each variant changes one thing of a valid call
// ---------------------------------------------------------------------------------------------

interface World {
  t: TestApp;
  b: TestBuilding;
  other: TestBuilding;
  admin: TestUser;
  /** a user with a password (fixtures have none), and a refresh token of theirs */
  account: { email: string; refreshToken: string };
  objects: Record<string, string>;
  otherObjects: Record<string, string>;
}

let unique = 0;
const next = () => `${Date.now().toString(36)}${(unique++).toString(36)}`;

function stringFor(name: string, schema: Schema, w: World, where: "path" | "query" | "body"): string {
  const objectId = (key: string) => w.objects[key] ?? randomUUID();
  switch (name) {
    case "buildingId":
      return w.b.id;
    case "apartmentId":
      return where === "path" ? objectId("apartmentId") : w.b.apartments[0]!.id;
    case "memberId":
    case "announcementId":
    case "paymentId":
    case "requestId":
    case "uploadId":
    case "fileId":
    case "endpointId":
    case "deliveryId":
      return objectId(name);
    case "userId":
    case "managerUserId":
      return w.b.neighbour.id;
    case "assignedTo":
      return w.b.manager.id;
    case "email":
      return `fuzz-${next()}@example.test`;
    case "password":
      return PASSWORD;
    case "refreshToken":
      return w.account.refreshToken;
    case "deviceId":
      // A push device in a path (DELETE /me/devices/{deviceId}); a sync device id elsewhere.
      return where === "path" ? objectId("deviceId") : "fuzz-device";
    case "scope":
      return w.b.id;
    case "locale":
    case "defaultLocale":
      return "en";
    case "timezone":
      return "UTC";
  }
  if (schema.enum) return schema.enum.find((v: unknown) => v !== null);
  if (schema.example !== undefined && typeof schema.example === "string") return schema.example;
  switch (schema.format) {
    case "uuid":
      return randomUUID();
    case "date-time":
      return new Date().toISOString();
    case "date":
      return "2026-07-01";
    case "email":
      return `fuzz-${next()}@example.test`;
  }
  return `fuzz ${next()}`.slice(0, Math.max(1, Math.min(schema.maxLength ?? 20, 20)));
}

function valueFor(schema: Schema, name: string, w: World, resolve: (s: any) => any, depth = 0): Json {
  const s = resolve(schema);
  if (depth > 6) return null;
  if (s.const !== undefined) return s.const;
  if (s.anyOf || s.oneOf) return valueFor((s.anyOf ?? s.oneOf)[0], name, w, resolve, depth + 1);
  const types: string[] = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  const type = types.find((x) => x !== "null") ?? (s.properties ? "object" : s.items ? "array" : "string");
  if (s.enum) return s.enum.find((v: unknown) => v !== null) ?? null;
  switch (type) {
    case "string":
      return stringFor(name, s, w, "body");
    case "integer":
    case "number": {
      if (typeof s.example === "number") return s.example;
      const min = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : 1);
      return Math.max(min, 1);
    }
    case "boolean":
      return true;
    case "array":
      return Array.from({ length: Math.max(1, s.minItems ?? 0) }, () =>
        valueFor(s.items ?? {}, name, w, resolve, depth + 1),
      );
    case "object": {
      const out: Record<string, Json> = {};
      const props = Object.keys(s.properties ?? {});
      // A partial update must name something: take its first member.
      const wanted = s.required?.length ? s.required : props.slice(0, 1);
      for (const key of wanted) out[key] = valueFor(s.properties?.[key] ?? {}, key, w, resolve, depth + 1);
      return out;
    }
  }
  return null;
}

/** Bodies the generic builder cannot guess (a choice between members, a sync batch). */
function baselineOverride(op: Operation, w: World): Json | undefined {
  const now = Date.now();
  switch (`${op.method} ${op.route}`) {
    case "POST /auth/register":
      return { email: `fuzz-${next()}@example.test`, password: PASSWORD, name: "Fuzz User" };
    case "POST /auth/login":
      return { email: w.account.email, password: PASSWORD };
    case "POST /buildings/{buildingId}/members":
      return { email: `fuzz-${next()}@example.test`, role: "resident", apartmentId: w.b.apartments[2]!.id };
    case "POST /buildings/{buildingId}/requests":
      return { title: "Fuzz leak", apartmentId: w.b.apartments[0]!.id };
    case "POST /buildings/{buildingId}/payments":
      return { apartmentId: w.b.apartments[0]!.id, kind: "due", amountMinor: 45000, dueDate: "2026-07-01" };
    case "POST /buildings/{buildingId}/announcements":
      return { title: "Fuzz notice", body: "text", publishedAt: new Date(now).toISOString() };
    case "POST /buildings/{buildingId}/uploads":
      return { purpose: "document", contentType: "application/pdf", size: 10, fileName: "fuzz.pdf" };
    case "POST /buildings/{buildingId}/uploads/{uploadId}/parts":
      return { partNumbers: [1] };
    // Webhook targets: the allowlisted loopback discard port (a documented example host would need DNS).
    case "POST /buildings/{buildingId}/webhooks/endpoints":
    case "POST /admin/webhooks/endpoints":
      return { url: "http://127.0.0.1:9/fuzz", eventTypes: ["maintenance.created"], description: "fuzz" };
    case "PATCH /buildings/{buildingId}/webhooks/endpoints/{endpointId}":
    case "PATCH /admin/webhooks/endpoints/{endpointId}":
      return { url: "http://127.0.0.1:9/fuzz-2", description: "fuzz", active: true };
    case "POST /me/devices":
      return {
        platform: "android",
        provider: "fcm",
        token: `fuzz-token-${next()}`,
        timezone: "Asia/Jerusalem",
      };
    case "POST /sync/pull":
      return { deviceId: "fuzz-device", buildings: { [w.b.id]: null }, pending: { maintenance_requests: 1 } };
    case "POST /sync/push":
      return {
        deviceId: "fuzz-device",
        ops: [
          {
            opId: `fuzz-${next()}:1`,
            type: "create",
            entity: "maintenance_requests",
            id: randomUUID(),
            fields: { buildingId: w.b.id, title: "Fuzz leak", apartmentId: w.b.apartments[0]!.id },
            hlc: hlcAt(now, "fuzz-device"),
          },
          {
            opId: `fuzz-${next()}:2`,
            type: "create",
            entity: "announcements",
            id: randomUUID(),
            fields: {
              buildingId: w.b.id,
              title: "Fuzz",
              body: "text",
              publishedAt: new Date(now).toISOString(),
            },
            hlc: hlcAt(now, "fuzz-device", 1),
          },
        ],
        pending: { maintenance_requests: 2 },
      };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Variants
// ---------------------------------------------------------------------------------------------

type FuzzClass = "text" | "date" | "number" | "type" | "keys" | "tenant" | "raw";
interface Req {
  path: Record<string, string>;
  query: Array<[string, string]>;
  headers: Record<string, string>;
  /** JSON value, or raw text/bytes when the variant is not expressible as a JSON value */
  body?: Json;
  rawBody?: string | Uint8Array;
}
interface Variant {
  cls: FuzzClass;
  label: string;
  apply: (r: Req) => Req;
}

/** Raw JSON tokens a JSON value cannot hold, spliced in for a placeholder string. */
const RAW = "\u0001raw:";
const raw = (text: string) => `${RAW}${text}`;

const TEXT = [
  ["NUL", "a\u0000b"],
  ["lone high surrogate", "a\ud800b"],
  ["lone low surrogate", "\udfffz"],
  ["RTL mark and 4-byte emoji", "\u202eabc😀"],
  ["4000 NULs", "\u0000".repeat(4000)],
] as const;
const DATES_TIME = [
  "0000-01-01T00:00:00Z",
  "99999-01-01T00:00:00Z",
  "+275760-09-13T00:00:00.001Z",
  "-000001-01-01T00:00:00Z",
];
const DATES = ["0000-01-01", "99999-12-31", "2026-02-30"];
const NUMBERS = [
  "1e999",
  "-1e999",
  "123456789012345678901234567890",
  "9007199254740993",
  "-0",
  "1e-400",
  "2.5",
];
const WRONG: Array<[string, Json | string]> = [
  ["array", []],
  ["object", {}],
  ["null", null],
  ["boolean", true],
  ["number", 42],
  ["string", "forty-two"],
  ["deep array", raw(`${"[".repeat(2000)}${"]".repeat(2000)}`)],
];

const isUuid = (v: unknown) =>
  typeof v === "string" && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v);
const looksDate = (v: unknown) => typeof v === "string" && /^\d{4}-\d{2}-\d{2}/.test(v);

type PathKey = Array<string | number>;
function setAt(v: Json, p: PathKey, value: Json): Json {
  if (p.length === 0) return value;
  const copy: any = Array.isArray(v) ? [...v] : { ...(v as object) };
  copy[p[0]!] = setAt((v as any)?.[p[0]!] ?? {}, p.slice(1), value);
  return copy;
}

/** Every location of a JSON value: its strings, numbers, objects and arrays, with the schema there. */
function walk(
  v: Json,
  schema: Schema | undefined,
  resolve: (s: any) => any,
  path: PathKey = [],
  out: Array<{ path: PathKey; value: Json; schema: Schema }> = [],
) {
  const s = schema ? resolve(schema) : {};
  out.push({ path, value: v, schema: s });
  if (Array.isArray(v)) for (const [i, item] of v.entries()) walk(item, s.items, resolve, [...path, i], out);
  else if (v && typeof v === "object")
    for (const [k, item] of Object.entries(v))
      walk(
        item,
        s.properties?.[k] ??
          (typeof s.additionalProperties === "object" ? s.additionalProperties : undefined),
        resolve,
        [...path, k],
        out,
      );
  return out;
}

function bodyVariants(op: Operation, base: Json, w: World, resolve: (s: any) => any): Variant[] {
  const out: Variant[] = [];
  const set = (cls: FuzzClass, label: string, p: PathKey, value: Json) =>
    out.push({
      cls,
      label: `body ${p.join(".") || "(root)"} ${label}`,
      apply: (r) => ({ ...r, body: setAt(r.body ?? null, p, value) }),
    });
  const locations = walk(base, op.body ?? undefined, resolve);
  // Optional members the baseline leaves out are fuzzed too: each is added with a fuzz value.
  for (const loc of [...locations]) {
    const props = loc.schema.properties as Record<string, Schema> | undefined;
    if (!props || !loc.value || typeof loc.value !== "object" || Array.isArray(loc.value)) continue;
    for (const [k, ps] of Object.entries(props)) {
      if (k in (loc.value as object)) continue;
      const value = valueFor(ps, k, w, resolve);
      locations.push({ path: [...loc.path, k], value, schema: resolve(ps) });
    }
  }
  for (const { path, value, schema } of locations) {
    const types: string[] = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
    if (typeof value === "string" || types.includes("string")) {
      for (const [label, text] of TEXT)
        set("text", label, path, typeof value === "string" ? `${value}${text}` : text);
      if (schema.format === "date" || (looksDate(value) && !String(value).includes("T")))
        for (const d of DATES) set("date", d, path, d);
      else if (schema.format === "date-time" || looksDate(value))
        for (const d of DATES_TIME) set("date", d, path, d);
      if (isUuid(value) || schema.format === "uuid") {
        const key = String(path[path.length - 1]);
        set("tenant", "another building's id", path, w.otherObjects[key] ?? w.other.id);
        set("tenant", "another building's apartment", path, w.other.apartments[0]!.id);
        set("tenant", "another building's user", path, w.other.manager.id);
      }
    }
    if (typeof value === "number" || types.includes("integer") || types.includes("number"))
      for (const n of NUMBERS) set("number", n, path, raw(n));
    if (path.length > 0) for (const [label, v] of WRONG) set("type", `as ${label}`, path, v as Json);
    if (value && typeof value === "object" && !Array.isArray(value)) {
      set("keys", "+ an invented key", path, { ...value, inventedKey: "x" });
      set("keys", "+ __proto__", path, {
        ...value,
        ["__proto__" as string]: raw('{"isPlatformAdmin":true}'),
      } as Json);
      set("keys", "+ NUL and surrogate keys", path, { ...value, "k\u0000": 1, "k\ud800": 1 });
      const many: Record<string, Json> = { ...value };
      for (let i = 0; i < 5000; i++) many[`invented_${i}`] = i;
      set("keys", "+ 5000 invented keys", path, many);
    }
  }
  for (const [label, text] of [
    ["null", "null"],
    ["array", "[]"],
    ["string", '"x"'],
    ["huge number", "1e999"],
    ["truncated", '{"a":'],
    ["empty", ""],
  ] as const)
    out.push({
      cls: "raw",
      label: `body is ${label}`,
      apply: (r) => ({ ...r, body: undefined, rawBody: text }),
    });
  out.push({
    cls: "raw",
    label: "body is invalid UTF-8",
    apply: (r) => ({
      ...r,
      body: undefined,
      rawBody: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
    }),
  });
  return out;
}

/** A path segment carrying bytes a well-formed string cannot (a lone surrogate as CESU-8). */
const LONE_SURROGATE_BYTES = "%ED%A0%80";

/** encodeURIComponent, except that a lone surrogate (which it refuses) is sent as its CESU-8 bytes. */
function encodeLoose(s: string): string {
  return s.replace(/[\ud800-\udbff][\udc00-\udfff]|[\ud800-\udfff]|[^\ud800-\udfff]+/g, (part) => {
    if (part.length !== 1 || part.charCodeAt(0) < 0xd800 || part.charCodeAt(0) > 0xdfff)
      return encodeURIComponent(part);
    const c = part.charCodeAt(0);
    return [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)]
      .map((b) => `%${b.toString(16).toUpperCase()}`)
      .join("");
  });
}

function paramVariants(op: Operation, w: World): Variant[] {
  const out: Variant[] = [];
  for (const p of op.params) {
    const where = p.in;
    const put = (cls: FuzzClass, label: string, value: string, encoded = false) =>
      out.push({
        cls,
        label: `${where} ${p.name} ${label}`,
        apply: (r) => {
          if (where === "path")
            return { ...r, path: { ...r.path, [p.name]: encoded ? value : encodeLoose(value) } };
          if (where === "query")
            return {
              ...r,
              query: [...r.query.filter(([k]) => k !== p.name), [p.name, encoded ? `\u0001${value}` : value]],
            };
          return { ...r, headers: { ...r.headers, [p.name]: value } };
        },
      });
    if (where === "header") {
      // Fetch refuses NUL, CR and LF in a header value; the rest of the classes apply.
      put("text", "latin-1 and quotes", '"\u00ff\u00fe", W/"x"');
      put("text", "8 KB", `"${"x".repeat(8000)}"`);
      put("number", "huge", "9".repeat(40));
      put("type", "garbage", "*, ,,, ;;");
      continue;
    }
    for (const [label, text] of TEXT.slice(0, 3)) put("text", label, text);
    put("text", "lone surrogate bytes", LONE_SURROGATE_BYTES, true);
    put("text", "invalid percent escape", "%E0%A4%A", true);
    put("number", "huge", "9".repeat(40));
    put("number", "1e999", "1e999");
    put("number", "negative", "-1");
    put("type", "array syntax", "[]");
    put("type", "object syntax", "{}");
    put("type", "boolean", "true");
    if (p.schema.format === "date-time" || /^(from|to|since|until)$/.test(p.name))
      for (const d of DATES_TIME) put("date", d, d);
    if (p.schema.format === "date") for (const d of DATES) put("date", d, d);
    if (p.schema.format === "uuid" || p.name.endsWith("Id")) {
      put(
        "tenant",
        "another building's id",
        p.name === "buildingId" ? w.other.id : (w.otherObjects[p.name] ?? w.other.id),
      );
      if (p.name === "buildingId")
        out.push({
          cls: "tenant",
          label: "path buildingId of another building, objects of this one",
          apply: (r) => ({ ...r, path: { ...r.path, buildingId: w.other.id } }),
        });
    }
    if (where === "query")
      out.push({
        cls: "type",
        label: `query ${p.name} repeated`,
        apply: (r) => ({ ...r, query: [...r.query, [p.name, "1"], [p.name, "2"]] }),
      });
  }
  out.push({
    cls: "keys",
    label: "query + an invented key",
    apply: (r) => ({ ...r, query: [...r.query, ["inventedKey", "1"]] }),
  });
  out.push({
    cls: "keys",
    label: "query + 500 invented keys",
    apply: (r) => ({
      ...r,
      query: [...r.query, ...Array.from({ length: 500 }, (_, i) => [`k${i}`, "v"] as [string, string])],
    }),
  });
  return out;
}

/** mulberry32: a small seeded PRNG, so the chosen variants replay. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const hash = (s: string) =>
  [...s].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0, 2166136261);

/** At most `n` variants, round-robin over the classes, each class shuffled by the seed. */
function pick(variants: Variant[], n: number, seed: number): Variant[] {
  const rnd = prng(seed);
  const byClass = new Map<FuzzClass, Variant[]>();
  for (const v of variants) byClass.set(v.cls, [...(byClass.get(v.cls) ?? []), v]);
  for (const list of byClass.values())
    for (let i = list.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [list[i], list[j]] = [list[j]!, list[i]!];
    }
  const chosen: Variant[] = [];
  const queues = [...byClass.values()];
  while (chosen.length < n && queues.some((q) => q.length))
    for (const q of queues) if (q.length && chosen.length < n) chosen.push(q.shift()!);
  return chosen;
}

// ---------------------------------------------------------------------------------------------
// Sending and judging
// ---------------------------------------------------------------------------------------------

function serialize(body: Json): string {
  const text = JSON.stringify(body);
  // "\u0001raw:<token>" placeholders become the raw token (numbers JSON cannot round-trip, deep nesting).
  return text.replace(/"\\u0001raw:((?:[^"\\]|\\.)*)"/g, (_, t: string) => JSON.parse(`"${t}"`));
}

function urlOf(op: Operation, r: Req): string {
  let url = op.path.replace(/\{([^}]+)\}/g, (_, name: string) => r.path[name] ?? randomUUID());
  if (r.query.length) {
    url += `?${r.query
      .map(([k, v]) => `${encodeLoose(k)}=${v.startsWith("\u0001") ? v.slice(1) : encodeLoose(v)}`)
      .join("&")}`;
  }
  return url;
}

async function send(
  w: World,
  op: Operation,
  r: Req,
  token: string,
): Promise<{ status: number; problem: string | null; text: string }> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${token}`,
    "user-agent": "fuzz-replay",
    ...r.headers,
  };
  let body: string | Uint8Array | undefined;
  if (r.rawBody !== undefined) body = r.rawBody;
  else if (r.body !== undefined) body = serialize(r.body);
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await w.t.request(urlOf(op, r), {
    method: op.method,
    headers,
    ...(body !== undefined ? { body: body as BodyInit } : {}),
  });
  const type = res.headers.get("content-type") ?? "";
  if (type.startsWith("text/event-stream")) {
    await res.body?.cancel();
    return { status: res.status, problem: null, text: "(stream)" };
  }
  const text = await res.text();
  let problem: string | null = null;
  if (res.status >= 400 && res.status < 500) {
    let parsed: any = null;
    try {
      parsed = JSON.parse(text);
    } catch {}
    if (!type.startsWith("application/problem+json")) problem = `content-type ${type || "(none)"}`;
    else if (typeof parsed?.code !== "string" || !parsed.code) problem = "no code";
    else if (typeof parsed?.correlationId !== "string" || !parsed.correlationId) problem = "no correlationId";
  }
  return { status: res.status, problem, text };
}

/** Control characters and lone surrogates escaped, so a failure message can be read and replayed. */
const show = (s: string) =>
  Array.from(s, (ch) => {
    const c = ch.codePointAt(0)!;
    return c < 0x20 || (c >= 0xd800 && c <= 0xdfff) ? `\\u${c.toString(16).padStart(4, "0")}` : ch;
  }).join("");

// ---------------------------------------------------------------------------------------------
// The suite
// ---------------------------------------------------------------------------------------------

const doc = await loadDocument();
const operations = operationsOf(doc);

const ENGINES: Array<{ name: string; db: DbKind; redis: boolean }> = [
  { name: "PGlite + memory kv", db: "pglite", redis: false },
  { name: "PostgreSQL + Redis", db: "pg", redis: true },
];

describe.each(ENGINES)("fuzz replay of every documented operation on $name", ({ db, redis }) => {
  let w: World;
  let kv: Kv | undefined;
  const resolve = resolver(doc);
  beforeAll(async () => {
    if (redis)
      kv = createRedisKv({ url: REDIS_URL, prefix: `fuzz:${process.pid}:${randomUUID().slice(0, 8)}:` });
    const t = await createTestApp({ db, env: ENV, ...(kv ? { kv } : {}) });
    // Sign-up and sign-in variants hash passwords; a cheap argon2id keeps the run short (same code path).
    t.services.passwords = createHashWasmHasher({ m: 64, t: 1, p: 1 });
    const [b, other, admin] = await Promise.all([
      createBuilding(t.services),
      createBuilding(t.services),
      createUser(t.services, { admin: true }),
    ]);
    const email = `fuzz-account-${next()}@example.test`;
    const reg = await t.request("/api/v1/auth/register", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password: PASSWORD, name: "Fuzz Account" }),
    });
    expect(reg.status, await reg.clone().text()).toBe(201);
    const login = await t.request("/api/v1/auth/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password: PASSWORD }),
    });
    expect(login.status).toBe(200);
    const { refreshToken } = (await login.json()) as { refreshToken: string };
    w = {
      t,
      b,
      other,
      admin,
      account: { email, refreshToken },
      objects: {},
      otherObjects: await freshObjects(t, other),
    };
  });
  afterAll(async () => {
    await w?.t.close();
    if (kv) {
      // The run's own prefix: other runs share this Redis.
      const left = await kv.keys("*");
      if (left.length) await kv.del(left);
      await kv.close();
    }
  });

  it("reads every operation from the document", () => {
    expect(operations.length).toBeGreaterThan(40);
  });

  it.each(operations.map((op) => [`${op.method} ${op.path}`, op] as const))("%s", async (_, op) => {
    // Fresh objects per operation: a DELETE or PATCH here must not starve the next operation.
    w.objects = await freshObjects(w.t, w.b);
    const access: Access | undefined = routeAccess.get(`${op.method} ${op.route}`);
    const token = await tokenFor(
      w.t.services,
      access === "admin" ? w.admin.id : w.b.manager.id,
      access === "admin",
    );
    const base: Req = { path: {}, query: [], headers: {} };
    for (const p of op.params) {
      if (p.in === "path") base.path[p.name] = stringFor(p.name, p.schema, w, "path");
      else if (p.in === "query" && p.required)
        base.query.push([p.name, stringFor(p.name, p.schema, w, "query")]);
    }
    if (op.body) base.body = baselineOverride(op, w) ?? valueFor(op.body, "", w, resolve);
    const variants = [
      { cls: "raw" as FuzzClass, label: "baseline", apply: (r: Req) => r },
      ...pick(
        [...paramVariants(op, w), ...(op.body ? bodyVariants(op, base.body ?? null, w, resolve) : [])],
        PER_OP,
        SEED ^ hash(`${op.method} ${op.path}`),
      ),
    ];
    // Path objects this suite has no builder for (a new module's ids): the baseline may be a 404.
    const unbuilt = op.params.filter(
      (p) => p.in === "path" && p.name !== "buildingId" && !(p.name in w.objects),
    );
    if (unbuilt.length)
      console.warn(`${op.method} ${op.path}: no builder for ${unbuilt.map((p) => p.name)}; baseline may 404`);
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    for (const v of variants) {
      let outcome: Awaited<ReturnType<typeof send>>;
      try {
        outcome = await send(w, op, v.apply(structuredClone(base)), token);
      } catch (err) {
        failures.push(`${show(v.label)} → threw ${String(err).slice(0, 200)}`);
        continue;
      }
      statuses.set(outcome.status, (statuses.get(outcome.status) ?? 0) + 1);
      // The baseline is a call the operation accepts: otherwise every variant would only probe
      // the first check that refuses it, not the field it changes.
      if (v.label === "baseline" && outcome.status >= 300 && !(outcome.status === 404 && unbuilt.length))
        failures.push(`baseline → ${outcome.status}: ${show(outcome.text.slice(0, 300))}`);
      if (outcome.status >= 500 || outcome.problem)
        failures.push(
          `${show(v.label)} → ${outcome.status}${outcome.problem ? ` (${outcome.problem})` : ""}: ${show(outcome.text.slice(0, 160))}`,
        );
    }
    if (process.env.FUZZ_DEBUG)
      console.log(`${op.method} ${op.path}`, variants.length, JSON.stringify(Object.fromEntries(statuses)));
    expect(failures, `${op.method} ${op.path}: ${variants.length} requests`).toEqual([]);
  });
});
