/**
 * Documents what the API-layer middleware does to every operation, so /openapi.json tells the
 * truth without each route repeating it: RateLimit-* headers and 429 on every versioned operation;
 * `fields`, `If-None-Match`, ETag/Vary/Cache-Control and 304 on every GET, whose JSON answer is
 * `anyOf` the full schema and its `…Fields` partial (`?fields=` projects it); the new ETag on PATCH
 * answers; 503 on sign-in routes (the rate limiter fails closed there) and Retry-After on every 429
 * and 503; Deprecation/Sunset/Link, `deprecated: true` and 410 on operations of deprecated
 * versions; top-level tags; `_vN` operation ids for every version but the lowest. Header
 * components no operation references are dropped. Write routes that call `checkIfMatch` opt in
 * with `withIfMatch(config)` (If-Match + 412/428).
 */
import type { RouteConfig } from "@hono/zod-openapi";
import type { Config } from "../config";
import { MAX_FIELDS } from "./fields";
import { problemContent } from "./openapi";
import { deprecationOf } from "./versioning";

type Json = Record<string, any>;
const ref = (kind: string, name: string) => ({ $ref: `#/components/${kind}/${name}` });
/** Problem content inside the generated (JSON) document; route configs use `problemContent` (zod). */
const problemJson = { "application/problem+json": { schema: ref("schemas", "Problem") } };

const HEADERS: Json = {
  "RateLimit-Limit": { description: "Requests allowed in the current window", schema: { type: "integer" } },
  "RateLimit-Remaining": { description: "Requests left in the current window", schema: { type: "integer" } },
  "RateLimit-Reset": { description: "Seconds until the window resets", schema: { type: "integer" } },
  "RateLimit-Policy": { description: "Limit and window: `1000;w=60`", schema: { type: "string" } },
  "Retry-After": { description: "Seconds to wait before retrying", schema: { type: "integer" } },
  ETag: {
    description: "Strong entity tag of this representation (send it in If-None-Match / If-Match)",
    schema: { type: "string" },
  },
  Vary: { description: "Accept-Encoding on compressible responses", schema: { type: "string" } },
  "Cache-Control": { description: "Caching directives", schema: { type: "string" } },
  Deprecation: {
    description: "RFC 9745: `@<unix seconds>` when this version is (or will be) deprecated",
    schema: { type: "string" },
  },
  Sunset: {
    description: "RFC 8594: HTTP-date after which this version answers 410",
    schema: { type: "string" },
  },
  Link: { description: 'Migration guide: `<url>; rel="deprecation"`', schema: { type: "string" } },
};

const PARAMETERS: Json = {
  fields: {
    name: "fields",
    in: "query",
    required: false,
    description: `Sparse fieldset: comma-separated member paths (\`id,name,address.city\`; at most ${MAX_FIELDS}). Lists project each item of \`data\`. \`id\` is always kept; unknown names answer 400 UNKNOWN_FIELDS with \`validFields\`.`,
    schema: { type: "string", example: "id,name,address.city" },
  },
  IfNoneMatch: {
    name: "If-None-Match",
    in: "header",
    required: false,
    description: "ETags you hold (`*`, one, or a list; weak comparison). A match answers 304 without a body.",
    schema: { type: "string" },
  },
  IfMatch: {
    name: "If-Match",
    in: "header",
    required: false,
    description:
      "ETag of the version you edit (strong comparison). If it changed since, 412 PRECONDITION_FAILED.",
    schema: { type: "string" },
  },
};

const RATE_HEADERS = ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy"];
const DEPRECATION_HEADERS = ["Deprecation", "Sunset", "Link"];
const METHODS = ["get", "put", "post", "delete", "patch", "head", "options"];

/** Top-level tags: generators group methods by them (Kotlin/Swift: one API class per tag). */
export const TAGS: Array<{ name: string; description: string }> = [
  { name: "Health", description: "Liveness and readiness probes for load balancers and orchestrators" },
  { name: "Auth", description: "Registration, sign-in, token refresh and sign-out" },
  { name: "Profile", description: "The signed-in user's own profile" },
  { name: "Buildings", description: "Buildings the caller belongs to; managers edit them" },
  { name: "Apartments", description: "Apartments of a building" },
  { name: "Members", description: "Who belongs to a building, as manager or resident" },
  { name: "Maintenance", description: "Maintenance requests and their comments" },
  { name: "Announcements", description: "Building announcements, optionally scheduled" },
  { name: "Payments", description: "Dues, payments and apartment balances" },
  {
    name: "Files",
    description:
      "Presigned direct uploads (single or multipart), completion, and signed downloads of photos and documents",
  },
  { name: "Audit", description: "The hash-chained audit trail" },
  { name: "Sync", description: "Offline sync: push queued edits, pull deltas, list conflicts" },
  { name: "Realtime", description: "Room tokens, presence and the Server-Sent Events stream" },
  { name: "Meta", description: "API versions, their deprecation state and the changelog" },
  { name: "Outbox", description: "Event delivery: dead events, replay and backlog figures (administrators)" },
  {
    name: "Push devices",
    description: "The caller's push tokens (FCM, APNs, Web Push subscriptions) and the Web Push key",
  },
  {
    name: "Notifications",
    description: "The in-app inbox, notification preferences, quiet hours and (administrators) templates",
  },
  {
    name: "Webhooks",
    description:
      "Endpoints that receive signed domain events (Standard Webhooks), their deliveries, replay, ping and health; the event catalogue",
  },
];

function addHeaders(response: Json, names: string[]) {
  if (!response || response.$ref) return;
  response.headers ??= {};
  for (const name of names) response.headers[name] ??= ref("headers", name);
}

/** The lowest configured version keeps plain operation ids; others get `_vN` (ids are unique). */
function operationIdSuffix(config: Config, version: string | undefined): string {
  if (!version) return "";
  const lowest = [...config.API_VERSIONS].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)))[0];
  return version === lowest ? "" : `_${version}`;
}

/** Adds the API layer's headers, parameters and responses to a generated OpenAPI document. */
export function documentApiLayer<T extends Json>(doc: T, config: Config): T {
  const d = doc as Json;
  d.components ??= {};
  d.components.headers = { ...HEADERS, ...(d.components.headers ?? {}) };
  d.components.parameters = { ...PARAMETERS, ...(d.components.parameters ?? {}) };
  d.components.schemas ??= {};
  d.tags = TAGS;
  const partials = new Map<string, Json>();
  for (const [path, item] of Object.entries((d.paths ?? {}) as Json)) {
    const version = /^\/api\/(v\d+)(\/|$)/.exec(path)?.[1];
    const rest = version ? path.slice(`/api/${version}`.length) : path;
    const dep = version ? deprecationOf(config, version) : undefined;
    for (const method of METHODS) {
      const op = item[method] as Json | undefined;
      if (!op) continue;
      op.responses ??= {};
      if (op.operationId) op.operationId += operationIdSuffix(config, version);
      // Sign-in routes fail closed when the rate limiter's backend is down (http/rate-limit.ts).
      if (version && config.RATE_LIMIT_ENABLED && config.RATE_LIMIT_AUTH_PATHS.some((p) => rest.includes(p)))
        op.responses["503"] ??= { description: "A dependency is unavailable", content: problemJson };
      if (method === "patch")
        for (const [status, response] of Object.entries(op.responses as Json))
          if (status.startsWith("2")) addHeaders(response, ["ETag"]);
      if (version) documentVersioned(d, op, method, config, dep, partials);
      for (const status of ["429", "503"])
        if (op.responses[status]) addHeaders(op.responses[status], ["Retry-After"]);
    }
  }
  for (const [name, schema] of partials) d.components.schemas[name] ??= schema;
  pruneUnusedHeaders(d);
  return doc;
}

function documentVersioned(
  d: Json,
  op: Json,
  method: string,
  config: Config,
  dep: ReturnType<typeof deprecationOf>,
  partials: Map<string, Json>,
) {
  const rate = config.RATE_LIMIT_ENABLED ? RATE_HEADERS : [];
  // http/client-protocol.ts: an SDK whose Horizon-Protocol is below the oldest served.
  op.responses["426"] ??= { description: "Client protocol too old: update the app", content: problemJson };
  for (const response of Object.values(op.responses as Json)) addHeaders(response, rate);
  if (config.RATE_LIMIT_ENABLED) {
    op.responses["429"] ??= { description: "Rate limited", content: problemJson };
    addHeaders(op.responses["429"], RATE_HEADERS);
  }
  if (method === "get") {
    op.parameters ??= [];
    const names = new Set((op.parameters as Json[]).map((p) => p.name ?? p.$ref));
    if (!names.has("fields")) op.parameters.push(ref("parameters", "fields"));
    if (!names.has("If-None-Match")) op.parameters.push(ref("parameters", "IfNoneMatch"));
    for (const [status, response] of Object.entries(op.responses as Json))
      if (status.startsWith("2")) addHeaders(response, ["ETag", "Vary", "Cache-Control"]);
    op.responses["304"] ??= {
      description: "Not modified: the ETag you sent in If-None-Match is current",
    };
    // A 304 keeps the RateLimit-* headers (http/etag.ts KEEP_ON_304).
    addHeaders(op.responses["304"], ["ETag", "Vary", "Cache-Control", ...rate]);
    const json = op.responses["200"]?.content?.["application/json"];
    if (json?.schema) json.schema = withFieldsPartial(d, json.schema, partials);
  }
  if (dep) {
    op.deprecated = true;
    for (const response of Object.values(op.responses as Json)) addHeaders(response, DEPRECATION_HEADERS);
    op.responses["410"] ??= {
      description: "This API version is past its sunset date",
      content: problemJson,
    };
  }
}

const SCHEMA_REF = "#/components/schemas/";

/**
 * `?fields=` answers a projection of the full representation: `anyOf` the full schema and its
 * `…Fields` partial (every member optional except `id`, nested objects too; a list envelope's
 * `data` items are projected, its other members stay whole), so a generated client types a
 * projected answer without claiming members it did not ask for.
 */
function withFieldsPartial(d: Json, schema: Json, partials: Map<string, Json>): Json {
  const resolve = (s: Json): Json =>
    s.$ref?.startsWith(SCHEMA_REF) ? (d.components.schemas[s.$ref.slice(SCHEMA_REF.length)] ?? s) : s;
  const full = resolve(schema);
  if (full.type !== "object" || !full.properties) return schema;
  const isList = full.properties.data?.type === "array";
  const partial = isList
    ? {
        ...full,
        properties: {
          ...full.properties,
          data: { ...full.properties.data, items: partialOf(d, full.properties.data.items, partials) },
        },
      }
    : partialOf(d, schema, partials);
  if (isList && schema.$ref) {
    const name = `${schema.$ref.slice(SCHEMA_REF.length)}Fields`;
    partials.set(name, {
      ...partial,
      description: `${schema.$ref.slice(SCHEMA_REF.length)} with ?fields=: each item of data holds only the members asked for (and id)`,
    });
    return { anyOf: [schema, ref("schemas", name)] };
  }
  return { anyOf: [schema, partial] };
}

/** A deep partial of `schema` (a `$ref` gets a `…Fields` component of its own); `id` stays required. */
function partialOf(d: Json, schema: Json, partials: Map<string, Json>, depth = 0): Json {
  if (!schema || typeof schema !== "object" || depth > 8) return schema;
  if (typeof schema.$ref === "string" && schema.$ref.startsWith(SCHEMA_REF)) {
    const name = schema.$ref.slice(SCHEMA_REF.length);
    const target = d.components.schemas[name];
    if (target?.type !== "object") return schema;
    const partialName = `${name}Fields`;
    if (!partials.has(partialName)) {
      partials.set(partialName, {}); // cycle guard
      partials.set(partialName, {
        ...partialOf(d, target, partials, depth + 1),
        description: `${name} with ?fields=: only the members asked for (and id)`,
      });
    }
    return ref("schemas", partialName);
  }
  const out: Json = { ...schema };
  if (schema.properties) {
    out.properties = Object.fromEntries(
      Object.entries(schema.properties as Json).map(([k, v]) => [
        k,
        partialOf(d, v as Json, partials, depth + 1),
      ]),
    );
    if (schema.properties.id && (schema.required as string[] | undefined)?.includes("id"))
      out.required = ["id"];
    else delete out.required;
  }
  if (schema.items) out.items = partialOf(d, schema.items, partials, depth + 1);
  for (const k of ["anyOf", "oneOf", "allOf"])
    if (Array.isArray(schema[k])) out[k] = schema[k].map((s: Json) => partialOf(d, s, partials, depth + 1));
  return out;
}

/** Header components nothing references are dropped (e.g. Deprecation while no version is deprecated). */
function pruneUnusedHeaders(d: Json) {
  const text = JSON.stringify(d.paths ?? {});
  for (const name of Object.keys(d.components.headers ?? {}))
    if (!text.includes(`"#/components/headers/${name}"`)) delete d.components.headers[name];
}

/** For write routes that call `checkIfMatch`: documents If-Match and the 412/428 answers. */
export function withIfMatch<R extends RouteConfig>(config: R): R {
  // Routes that validate headers with a zod schema declare If-Match there instead.
  const declared = Boolean(config.request?.headers);
  return {
    ...config,
    parameters: [...((config as Json).parameters ?? []), ...(declared ? [] : [ref("parameters", "IfMatch")])],
    responses: {
      ...config.responses,
      412: { description: "If-Match does not match the current ETag", content: problemContent },
      428: { description: "If-Match is required", content: problemContent },
    },
  } as R;
}
