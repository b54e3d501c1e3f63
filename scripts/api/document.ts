/**
 * The OpenAPI document the API serves, built from the real app (no database is touched to
 * render it: an empty in-memory PGlite stands behind the services), and its split into one
 * document per served API version: the version's `/api/<version>/` paths plus the unversioned
 * ones (health, docs) every version shares.
 */
import { createApp } from "../../src/app";
import { parseConfig } from "../../src/config";
import { createPgliteDatabase } from "../../src/platform/db/pglite";
import { createMemoryKv } from "../../src/platform/kv/memory";
import { createJsonLogger } from "../../src/platform/log/json";
import { assembleNodeServices } from "../../workers/node-services";

export type OpenApiDoc = {
  openapi: string;
  paths: Record<string, unknown>;
  components?: Record<string, unknown>;
  [key: string]: unknown;
};

/** The served document with the production default of API_VERSIONS unless `env` says otherwise. */
export async function servedDocument(env: Record<string, string> = {}): Promise<OpenApiDoc> {
  const config = parseConfig({
    NODE_ENV: "production",
    JWT_SECRET: "document-only-document-only-document-only",
    SEED_DEMO: "false",
    ...env,
  });
  const database = await createPgliteDatabase();
  const kv = createMemoryKv();
  try {
    const services = assembleNodeServices({
      config,
      database,
      kv,
      logger: createJsonLogger({ level: "error", sink: () => {} }),
      runtime: "node",
    });
    const res = await createApp(services).request("/openapi.json");
    if (res.status !== 200) throw new Error(`/openapi.json answered ${res.status}`);
    return (await res.json()) as OpenApiDoc;
  } finally {
    await database.close();
    await kv.close();
  }
}

const VERSIONED = /^\/api\/(v\d+)\//;

/** One document per API version found in the paths. */
export function perVersion(doc: OpenApiDoc): Record<string, OpenApiDoc> {
  const versions = new Set<string>();
  for (const path of Object.keys(doc.paths)) {
    const m = VERSIONED.exec(path);
    if (m) versions.add(m[1]!);
  }
  const out: Record<string, OpenApiDoc> = {};
  for (const version of [...versions].sort()) {
    const paths = Object.fromEntries(
      Object.entries(doc.paths).filter(([p]) => {
        const m = VERSIONED.exec(p);
        return m ? m[1] === version : true;
      }),
    );
    out[version] = { ...doc, paths };
  }
  return out;
}

/** JSON with object keys sorted, so a snapshot's diff shows only what changed. */
export function stableJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === "object")
      return Object.fromEntries(
        Object.keys(v as object)
          .sort()
          .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
      );
    return v;
  };
  return `${JSON.stringify(sort(value), null, 2)}\n`;
}
