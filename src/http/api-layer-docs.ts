/**
 * Documents what the API-layer middleware does to every versioned operation, so /openapi.json
 * tells the truth without each route repeating it: RateLimit-* headers and 429 on every
 * operation; `fields`, `If-None-Match`, ETag/Vary/Cache-Control and 304 on every GET;
 * Deprecation/Sunset/Link, `deprecated: true` and 410 on operations of deprecated versions.
 * Write routes that call `checkIfMatch` opt in with `withIfMatch(config)` (If-Match + 412/428).
 */
import type { RouteConfig } from "@hono/zod-openapi";
import type { Config } from "../config";
import { MAX_FIELDS } from "./fields";
import { problemContent } from "./openapi";
import { deprecationOf } from "./versioning";

type Json = Record<string, any>;
const ref = (kind: string, name: string) => ({ $ref: `#/components/${kind}/${name}` });

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

function addHeaders(response: Json, names: string[]) {
  if (!response || response.$ref) return;
  response.headers ??= {};
  for (const name of names) response.headers[name] ??= ref("headers", name);
}

/** Adds the API layer's headers, parameters and responses to a generated OpenAPI document. */
export function documentApiLayer<T extends Json>(doc: T, config: Config): T {
  const d = doc as Json;
  d.components ??= {};
  d.components.headers = { ...HEADERS, ...(d.components.headers ?? {}) };
  d.components.parameters = { ...PARAMETERS, ...(d.components.parameters ?? {}) };
  for (const [path, item] of Object.entries((d.paths ?? {}) as Json)) {
    const version = /^\/api\/(v\d+)(\/|$)/.exec(path)?.[1];
    if (!version) continue;
    const dep = deprecationOf(config, version);
    for (const method of METHODS) {
      const op = item[method] as Json | undefined;
      if (!op) continue;
      op.responses ??= {};
      const rate = config.RATE_LIMIT_ENABLED ? RATE_HEADERS : [];
      for (const response of Object.values(op.responses as Json)) addHeaders(response, rate);
      if (config.RATE_LIMIT_ENABLED) {
        op.responses["429"] ??= { description: "Rate limited", content: problemContent };
        addHeaders(op.responses["429"], ["Retry-After", ...RATE_HEADERS]);
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
        addHeaders(op.responses["304"], ["ETag", "Vary", "Cache-Control"]);
      }
      if (dep) {
        op.deprecated = true;
        for (const response of Object.values(op.responses as Json)) addHeaders(response, DEPRECATION_HEADERS);
        op.responses["410"] ??= {
          description: "This API version is past its sunset date",
          content: problemContent,
        };
      }
    }
  }
  return doc;
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
