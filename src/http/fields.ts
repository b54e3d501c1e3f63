/**
 * Sparse fieldsets (design property 9): `?fields=id,name,address.city` on any GET answering a
 * JSON object or a list envelope `{ data: [...], pagination }` (each item is projected; the
 * envelope's other members stay). Dotted paths select nested members, through arrays too; `id`
 * is always kept. The valid paths come from the route's documented 200 response schema (zod,
 * read from the OpenAPI registry), so an unknown name is refused before the handler runs:
 * 400 UNKNOWN_FIELDS with `validFields`. Routes without a documented schema fall back to the
 * paths present in the actual response. The middleware owns `fields`: it removes it from the
 * query before route validation, so strict query schemas need not declare it.
 */
import type { MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { ApiError } from "../errors";
import { responseBody, withBody } from "./body";
import type { AppEnv } from "./env";

export const MAX_FIELDS = 100;
export const MAX_FIELDS_PARAM_LENGTH = 4096;
const MAX_DEPTH = 6;
const FIELD = /^[A-Za-z_$][\w$-]{0,63}(\.[A-Za-z_$][\w$-]{0,63}){0,5}$/;

/** Parses and bounds `?fields=`; throws 400 VALIDATION_FAILED on a malformed or oversized list. */
export function parseFieldsParam(raw: string): string[] {
  const invalid = (detail: string) =>
    new ApiError("VALIDATION_FAILED", detail, {
      errors: [{ path: "query.fields", message: detail }],
    });
  if (raw.length > MAX_FIELDS_PARAM_LENGTH)
    throw invalid(`fields is ${raw.length} characters long; at most ${MAX_FIELDS_PARAM_LENGTH} are accepted`);
  const names = [...new Set(raw.split(",").map((s) => s.trim()))].filter(Boolean);
  if (!names.length) throw invalid("fields is empty; list member names like fields=id,name");
  if (names.length > MAX_FIELDS)
    throw invalid(`fields lists ${names.length} names; at most ${MAX_FIELDS} are accepted`);
  const bad = names.filter((n) => !FIELD.test(n));
  if (bad.length)
    throw invalid(
      `invalid field names: ${bad.slice(0, 10).join(", ")} (use dotted member names like address.city)`,
    );
  return names;
}

export interface FieldShape {
  /** True when the response is a list envelope and paths address its `data` items. */
  list: boolean;
  paths: Set<string>;
}

type ZodLike = { _zod?: { def?: Record<string, any> } };

function unwrap(schema: unknown, guard = 0): ZodLike | undefined {
  const def = (schema as ZodLike)?._zod?.def;
  if (!def || guard > 20) return schema as ZodLike | undefined;
  switch (def.type) {
    case "optional":
    case "nullable":
    case "default":
    case "prefault":
    case "readonly":
    case "catch":
    case "nonoptional":
      return unwrap(def.innerType, guard + 1);
    case "pipe":
      return unwrap(def.out?._zod?.def?.type === "transform" ? def.in : def.out, guard + 1);
    case "lazy":
      return unwrap(def.getter(), guard + 1);
    default:
      return schema as ZodLike;
  }
}

function collectSchema(schema: unknown, prefix: string, out: Set<string>, depth: number) {
  const def = unwrap(schema)?._zod?.def;
  if (!def || depth > MAX_DEPTH) return;
  if (def.type === "object") {
    for (const [key, child] of Object.entries(def.shape as Record<string, unknown>)) {
      const path = prefix ? `${prefix}.${key}` : key;
      out.add(path);
      collectSchema(child, path, out, depth + 1);
    }
  } else if (def.type === "array") collectSchema(def.element, prefix, out, depth + 1);
  else if (def.type === "union")
    for (const o of def.options as unknown[]) collectSchema(o, prefix, out, depth + 1);
  else if (def.type === "intersection") {
    collectSchema(def.left, prefix, out, depth + 1);
    collectSchema(def.right, prefix, out, depth + 1);
  }
}

/** Valid field paths of a zod response schema (object, or list envelope with `data: array`). */
export function shapeFromSchema(schema: unknown): FieldShape | null {
  const def = unwrap(schema)?._zod?.def;
  if (def?.type !== "object") return null;
  const data = unwrap((def.shape as Record<string, unknown>).data)?._zod?.def;
  const list = data?.type === "array";
  const paths = new Set<string>();
  collectSchema(list ? data!.element : schema, "", paths, 0);
  return { list, paths };
}

function collectValue(value: unknown, prefix: string, out: Set<string>, depth: number) {
  if (depth > MAX_DEPTH || value === null || typeof value !== "object") return;
  if (Array.isArray(value)) {
    for (const item of value.slice(0, 100)) collectValue(item, prefix, out, depth + 1);
    return;
  }
  for (const [key, child] of Object.entries(value)) {
    const path = prefix ? `${prefix}.${key}` : key;
    out.add(path);
    collectValue(child, path, out, depth + 1);
  }
}

/** Fallback: the paths present in an actual response body. */
export function shapeFromValue(body: unknown): FieldShape | null {
  if (body === null || typeof body !== "object" || Array.isArray(body)) return null;
  const data = (body as { data?: unknown }).data;
  const list = Array.isArray(data);
  const paths = new Set<string>();
  collectValue(list ? data : body, "", paths, 0);
  return { list, paths };
}

type Tree = { [key: string]: Tree | true };

function toTree(fields: string[]): Tree {
  const root: Tree = { id: true };
  // Shorter paths first, so `address` (whole) wins over `address.city`.
  for (const field of [...fields].sort((a, b) => a.split(".").length - b.split(".").length)) {
    const parts = field.split(".");
    let node = root;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (node[part] === true) break;
      if (i === parts.length - 1) node[part] = true;
      else {
        node[part] ??= {};
        node = node[part] as Tree;
      }
    }
  }
  return root;
}

function applyTree(value: unknown, tree: Tree): unknown {
  if (Array.isArray(value)) return value.map((v) => applyTree(v, tree));
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    const sel = tree[key];
    if (sel === true) out[key] = child;
    else if (sel) out[key] = applyTree(child, sel);
  }
  return out;
}

/** Projects a body: an object, or each item of a list envelope (other members kept). */
export function project(body: unknown, fields: string[], list: boolean): unknown {
  const tree = toTree(fields);
  if (list && body && typeof body === "object" && Array.isArray((body as { data?: unknown }).data)) {
    const envelope = body as { data: unknown[] };
    return { ...envelope, data: envelope.data.map((item) => applyTree(item, tree)) };
  }
  return applyTree(body, tree);
}

export function checkKnown(fields: string[], shape: FieldShape) {
  const unknown = fields.filter((f) => !shape.paths.has(f));
  if (!unknown.length) return;
  const validFields = [...shape.paths].sort().slice(0, 500);
  throw new ApiError("UNKNOWN_FIELDS", `unknown fields: ${unknown.slice(0, 20).join(", ")}`, {
    extensions: { unknownFields: unknown.slice(0, 100), validFields },
  });
}

export interface FieldsOptions {
  /** The documented 200 response schema of a route (`GET`, Hono path like `/api/v1/x/:id`). */
  schemaFor?: (method: string, path: string) => unknown;
}

/** Applies `?fields=` to JSON 200 responses of GET/HEAD. */
export function fields(options: FieldsOptions = {}): MiddlewareHandler<AppEnv> {
  return async function fieldsMiddleware(c, next) {
    const method = c.req.method;
    const raw = method === "GET" || method === "HEAD" ? c.req.query("fields") : undefined;
    if (raw === undefined) return next();
    const wanted = parseFieldsParam(raw);
    const route = matchedRoutes(c).findLast((r) => r.method !== "ALL");
    const schema = route ? options.schemaFor?.("GET", route.path) : undefined;
    let shape = schema ? shapeFromSchema(schema) : null;
    if (shape) checkKnown(wanted, shape);

    const url = new URL(c.req.url);
    url.searchParams.delete("fields");
    c.req.raw = new Request(url, c.req.raw);
    await next();

    const res = c.res;
    if (res.status !== 200 || !/^application\/json\b/i.test(res.headers.get("content-type") ?? "")) return;
    const built = await responseBody(c);
    if (built === null) return;
    const body: unknown = JSON.parse(typeof built === "string" ? built : new TextDecoder().decode(built));
    shape ??= shapeFromValue(body);
    if (!shape) return;
    checkKnown(wanted, shape);
    const headers = new Headers(res.headers);
    headers.delete("content-length");
    headers.delete("etag");
    c.res = undefined as never;
    const text = JSON.stringify(project(body, wanted, shape.list));
    c.res = withBody(new Response(text, { status: 200, headers }), text);
  };
}

type RouteDefinition = {
  type: string;
  route?: { method: string; path: string; responses?: Record<string, any> };
};

/** `/api/v1/x/:id{[0-9]+}` (Hono) → `/api/v1/x/{id}` (OpenAPI). */
export const toOpenApiPath = (honoPath: string) => honoPath.replace(/:(\w+)(\{[^}]*\})?\??/g, "{$1}");

/**
 * Looks up the documented JSON 200 schema of a route in the OpenAPI registry, indexed lazily
 * and re-indexed when routes are added (tests add probe routes after createApp).
 */
export function responseSchemaIndex(definitions: () => readonly unknown[]) {
  let indexed = -1;
  const index = new Map<string, unknown>();
  return (method: string, honoPath: string): unknown => {
    const defs = definitions() as RouteDefinition[];
    if (defs.length !== indexed) {
      index.clear();
      for (const d of defs) {
        if (d.type !== "route" || !d.route) continue;
        const schema = d.route.responses?.["200"]?.content?.["application/json"]?.schema;
        if (schema) index.set(`${d.route.method.toUpperCase()} ${d.route.path}`, schema);
      }
      indexed = defs.length;
    }
    return index.get(`${method.toUpperCase()} ${toOpenApiPath(honoPath)}`);
  };
}
