/**
 * The OpenAPI document is what mobile teams generate clients from (issue 14, "The API contract").
 * These checks walk the whole document the app serves, so a new route cannot break a rule the
 * others keep: patterns that compile and accept their examples, a unique operationId and a
 * declared tag on every operation, the statuses and headers the server really sends (415, 503,
 * RateLimit-*, Retry-After, ETag on PATCH, Deprecation/Sunset/Link), `security: []` on public
 * routes, every problem extension member, and types a generator can use (sync entities and rows,
 * room and SSE frames, `?fields=` partials).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { documentApiLayer } from "../../src/http/api-layer-docs";
import { ENTITIES } from "../../src/modules/sync/entities";
import { ClientFrameSchema, ServerFrameSchema } from "../../src/protocol/realtime";
import { SYNC_ENTITIES } from "../../src/protocol/sync";
import { createTestApp, type TestApp, testConfig } from "../support/app";
import { createBuilding, createUser } from "../support/fixtures";

type Json = Record<string, any>;

/** Every object in `node` that has `key`, with its JSON pointer. */
function collect(node: unknown, key: string, path = "#"): Array<{ at: string; owner: Json }> {
  const out: Array<{ at: string; owner: Json }> = [];
  if (Array.isArray(node)) {
    for (const [i, v] of node.entries()) out.push(...collect(v, key, `${path}/${i}`));
  } else if (node && typeof node === "object") {
    if (key in node) out.push({ at: path, owner: node as Json });
    for (const [k, v] of Object.entries(node)) out.push(...collect(v, key, `${path}/${k}`));
  }
  return out;
}

describe("the OpenAPI document", () => {
  let t: TestApp;
  let doc: Json;
  beforeAll(async () => {
    t = await createTestApp({ db: "pg" });
    doc = await (await t.request("/openapi.json")).json();
  });
  afterAll(() => t.close());

  it("every pattern is a valid ECMA-262 (unicode) expression that accepts its own examples", () => {
    const patterns = collect(doc, "pattern").filter(({ owner }) => typeof owner.pattern === "string");
    expect(patterns.length).toBeGreaterThan(5);
    for (const { at, owner } of patterns) {
      let re: RegExp;
      expect(() => {
        re = new RegExp(owner.pattern, "u");
      }, `${at}: ${owner.pattern}`).not.toThrow();
      const examples = [
        ...(owner.example !== undefined ? [owner.example] : []),
        ...(Array.isArray(owner.examples) ? owner.examples : []),
      ].filter((e) => typeof e === "string");
      for (const example of examples)
        expect(re!.test(example), `${at}: ${owner.pattern} vs ${example}`).toBe(true);
    }
    // Parameters carry their example beside the schema.
    for (const { at, owner } of collect(doc, "schema")) {
      const pattern = owner.schema?.pattern;
      if (typeof pattern !== "string" || typeof owner.example !== "string") continue;
      expect(new RegExp(pattern, "u").test(owner.example), `${at}: ${pattern} vs ${owner.example}`).toBe(
        true,
      );
    }
  });

  it("the name pattern of RegisterRequest and UpdateProfileRequest accepts names and refuses control characters", () => {
    for (const schema of ["RegisterRequest", "UpdateProfileRequest"]) {
      const name = doc.components.schemas[schema].properties.name;
      const re = new RegExp(name.pattern, "u");
      for (const ok of ["Dana Levi", "דנה לוי", "José Ñúñez", "李小龍 🏠"])
        expect(re.test(ok), `${schema} ${ok}`).toBe(true);
      for (const bad of ["a\u0000b", "tab\there", "x\ud800"])
        expect(re.test(bad), `${schema} ${JSON.stringify(bad)}`).toBe(false);
    }
  });
  const operations = () =>
    Object.entries(doc.paths as Json).flatMap(([path, item]) =>
      Object.entries(item as Json)
        .filter(([method]) => ["get", "put", "post", "delete", "patch"].includes(method))
        .map(([method, op]) => ({ path, method, op: op as Json })),
    );
  const schemaOf = (name: string) => doc.components.schemas[name] as Json;
  const deref = (s: Json) => (s.$ref ? schemaOf(s.$ref.split("/").at(-1)) : s);

  it("only v1 is served by default, so no operation is documented twice", async () => {
    expect(Object.keys(doc.paths).some((p) => p.startsWith("/api/v2"))).toBe(false);
    expect((await t.request("/api/v2/meta/versions")).status).toBe(404);
  });

  it("every operation has a unique, stable operationId, and one declared tag", () => {
    const ids = operations().map(({ path, method, op }) => {
      expect(op.operationId, `${method} ${path}`).toMatch(/^[a-z][A-Za-z0-9]*$/);
      expect(op.tags?.length, `${method} ${path}`).toBe(1);
      return op.operationId as string;
    });
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(
      expect.arrayContaining(["listBuildings", "syncPush", "updatePayment", "getLiveness"]),
    );
    const declared = new Map((doc.tags as Json[]).map((tag) => [tag.name, tag.description]));
    const used = new Set(operations().map(({ op }) => op.tags[0]));
    for (const tag of used) expect(declared.get(tag)?.length, `tag ${tag}`).toBeGreaterThan(10);
    expect([...declared.keys()].filter((tag) => !used.has(tag))).toEqual([]);
  });

  it("with two versions mounted, the second's operation ids are suffixed and still unique", () => {
    const config = testConfig({ API_VERSIONS: "v1,v2" });
    const raw = structuredClone(doc) as Json;
    for (const [path, item] of Object.entries(raw.paths as Json)) {
      if (!path.startsWith("/api/v1/")) continue;
      const copy = structuredClone(item) as Json;
      for (const op of Object.values(copy))
        if ((op as Json).operationId)
          (op as Json).operationId = (op as Json).operationId.replace(/_v\d+$/, "");
      raw.paths[path.replace("/api/v1/", "/api/v2/")] = copy;
    }
    const both = documentApiLayer(raw, config);
    const ids = Object.values(both.paths as Json).flatMap((item) =>
      Object.values(item as Json).map((op) => (op as Json).operationId),
    );
    expect(new Set(ids).size).toBe(ids.length);
    expect(both.paths["/api/v2/buildings"].get.operationId).toBe("listBuildings_v2");
    expect(both.paths["/api/v1/buildings"].get.operationId).toBe("listBuildings");
  });

  it("security: [] on public operations, bearer on every other", () => {
    const publicOps = new Set([
      "getLiveness",
      "getReadiness",
      "register",
      "login",
      "refreshSession",
      "logout",
      "getVersionUsage",
      "getChangelog",
      "getVapidPublicKey",
    ]);
    for (const { path, method, op } of operations()) {
      if (publicOps.has(op.operationId)) expect(op.security, `${method} ${path}`).toEqual([]);
      else expect(op.security, `${method} ${path}`).toEqual([{ bearerAuth: [] }]);
    }
  });

  it("every JSON-body operation declares 415, and really answers it for a body of another type", async () => {
    const b = await createBuilding(t.services);
    const admin = await createUser(t.services, { admin: true });
    const bodied = operations().filter(({ op }) => op.requestBody?.content?.["application/json"]);
    expect(bodied.length).toBeGreaterThan(15);
    for (const { path, method, op } of bodied) {
      expect(op.requestBody.required, `${method} ${path}`).toBe(true);
      expect(op.responses["415"], `${method} ${path}`).toBeDefined();
      const url = path
        .replace("{buildingId}", b.id)
        .replace(/\{\w+\}/g, "0b6f4b1e-8a0e-4c1e-9a55-3f1d2e4c5b6a");
      const user = path.includes("{buildingId}") ? b.manager : admin;
      const res = await t.request(url, {
        method: method.toUpperCase(),
        headers: { ...user.auth, "content-type": "text/plain" },
        body: "{}",
      });
      expect(res.status, `${method} ${path}`).toBe(415);
      expect((await res.json()).code).toBe("UNSUPPORTED_MEDIA_TYPE");
    }
  });

  it("503 with Retry-After on sign-in and kv-backed operations; Retry-After on every 429 and 503", () => {
    const byId = new Map(operations().map((o) => [o.op.operationId, o.op]));
    for (const id of [
      "register",
      "login",
      "refreshSession",
      "logout",
      "getPresence",
      "streamBuildingEvents",
      "getVersionUsage",
      "getReadiness",
    ])
      expect(byId.get(id)?.responses["503"], id).toBeDefined();
    for (const { path, method, op } of operations())
      for (const status of ["429", "503"])
        if (op.responses[status])
          expect(op.responses[status].headers?.["Retry-After"], `${method} ${path} ${status}`).toEqual({
            $ref: "#/components/headers/Retry-After",
          });
  });

  it("RateLimit-* on every versioned response; no header component is left unreferenced", () => {
    for (const { path, method, op } of operations()) {
      if (!path.startsWith("/api/")) continue;
      for (const [status, response] of Object.entries(op.responses as Json))
        for (const h of ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy"])
          expect((response as Json).headers?.[h], `${method} ${path} ${status} ${h}`).toBeDefined();
    }
    const text = JSON.stringify(doc.paths);
    for (const name of Object.keys(doc.components.headers))
      expect(text.includes(`"#/components/headers/${name}"`), `header ${name}`).toBe(true);
  });

  it("a deprecated version's operations reference Deprecation, Sunset and Link", () => {
    const config = testConfig({ API_DEPRECATIONS: "v1:2027-01-01:2027-07-01" });
    const raw = t.app.getOpenAPI31Document({ openapi: "3.1.0", info: { title: "t", version: "0" } }) as Json;
    const deprecated = documentApiLayer(raw, config);
    const op = deprecated.paths["/api/v1/buildings"].get;
    expect(op.deprecated).toBe(true);
    for (const h of ["Deprecation", "Sunset", "Link"]) {
      expect(op.responses["200"].headers[h]).toEqual({ $ref: `#/components/headers/${h}` });
      expect(deprecated.components.headers[h]).toBeDefined();
    }
    expect(op.responses["410"].content["application/problem+json"].schema).toEqual({
      $ref: "#/components/schemas/Problem",
    });
  });

  it("PATCH answers declare the new ETag", () => {
    const patches = operations().filter(({ method }) => method === "patch");
    expect(patches.length).toBeGreaterThanOrEqual(7);
    for (const { path, op } of patches)
      expect(op.responses["200"].headers?.ETag, path).toEqual({ $ref: "#/components/headers/ETag" });
  });

  it("the Problem schema names every extension member a route sets", () => {
    const members = new Set<string>();
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const file = join(dir, name);
        if (statSync(file).isDirectory()) walk(file);
        else if (file.endsWith(".ts")) {
          const src = readFileSync(file, "utf8");
          if (!src.includes("ApiError")) continue;
          for (const m of src.matchAll(/extensions:/g)) {
            // The expression after `extensions:` up to the comma that ends it (it may be a
            // conditional of two object literals), then every key of its object literals.
            let depth = 0;
            let end = m.index! + m[0].length;
            for (; end < src.length; end++) {
              const ch = src[end];
              if (ch === "{") depth++;
              else if (ch === "}") depth--;
              if (depth < 0 || (depth === 0 && (ch === "," || ch === ";"))) break;
            }
            const literal = src.slice(m.index! + m[0].length, end);
            for (const k of literal.matchAll(/(?:^|[{,])\s*([A-Za-z_$][\w$]*)\s*(?=[:,}])/g))
              members.add(k[1]!);
          }
        }
      }
    };
    walk(join(__dirname, "../../src"));
    expect(members).toContain("currentEtag");
    expect(members).toContain("maxOps");
    const problem = schemaOf("Problem");
    for (const member of members) expect(problem.properties[member], member).toBeDefined();
    expect(problem.required).toEqual(
      expect.arrayContaining(["type", "title", "status", "code", "correlationId"]),
    );
  });

  it("SyncOp.entity is the enum of synced entities; pull changes carry each entity's row schema", () => {
    expect(deref(schemaOf("SyncOp").properties.entity).enum).toEqual([...SYNC_ENTITIES]);
    const changes = deref(schemaOf("SyncPullResponse").properties.changes);
    expect(Object.keys(changes.properties).sort()).toEqual([...SYNC_ENTITIES].sort());
    expect(changes.additionalProperties).not.toEqual({});
    for (const entity of SYNC_ENTITIES) {
      const perEntity = deref(changes.properties[entity]);
      const row = deref(perEntity.properties.created.items);
      expect(Object.keys(row.properties).sort(), entity).toEqual(
        Object.keys(ENTITIES[entity].columns).sort(),
      );
      expect(row.required, entity).toEqual(expect.arrayContaining(["id", "buildingId", "createdAt"]));
      expect(perEntity.properties.updated.items).toEqual(perEntity.properties.created.items);
    }
    expect(schemaOf("SyncApartmentsRow").required).not.toContain("areaSqm");
  });

  it("room frames and the SSE event are schemas", () => {
    expect(schemaOf("ServerFrame").oneOf).toHaveLength(ServerFrameSchema.options.length);
    expect(schemaOf("ClientFrame").oneOf).toHaveLength(ClientFrameSchema.options.length);
    const stream =
      doc.paths["/api/v1/buildings/{buildingId}/events"].get.responses["200"].content["text/event-stream"];
    const event = deref(stream.schema);
    expect(event.properties.data.contentSchema).toEqual({ $ref: "#/components/schemas/ServerFrame" });
    expect(event.properties.event.enum).toEqual(
      expect.arrayContaining(["open", "poke", "event", "presence.join"]),
    );
  });

  it("a ?fields= answer is typed as a partial of the full schema", () => {
    const get =
      doc.paths["/api/v1/buildings/{buildingId}"].get.responses["200"].content["application/json"].schema;
    expect(get.anyOf).toEqual([
      { $ref: "#/components/schemas/Building" },
      { $ref: "#/components/schemas/BuildingFields" },
    ]);
    expect(schemaOf("BuildingFields").required).toEqual(["id"]);
    expect(Object.keys(schemaOf("BuildingFields").properties)).toEqual(
      Object.keys(schemaOf("Building").properties),
    );
    const list =
      doc.paths["/api/v1/buildings/{buildingId}/apartments"].get.responses["200"].content["application/json"]
        .schema;
    const page = deref(list.anyOf[1]);
    expect(page.properties.data.items).toEqual({ $ref: "#/components/schemas/ApartmentFields" });
    expect(page.required).toEqual(schemaOf("ApartmentPage").required);
    for (const { path, op } of operations().filter(
      ({ path, method }) => method === "get" && path.startsWith("/api/"),
    )) {
      const schema = op.responses["200"]?.content?.["application/json"]?.schema;
      if (schema && deref(schema).type === "object") expect(schema.anyOf, path).toHaveLength(2);
    }
  });
});
