/**
 * The read-route contract (issue 4, "Done when"): every GET route under /api/v1, enumerated from
 * the app's own OpenAPI document, is called on a seeded building (PGlite and the real PostgreSQL)
 * as a caller who may read it, and must honour
 *  (a) strong ETags: If-None-Match with the tag (or its W/ form) → 304 that keeps ETag,
 *      Cache-Control and Vary; another tag → 200;
 *  (b) sparse fieldsets: `?fields=id` keeps only id (each list item; the envelope stays), an
 *      unknown field → 400 UNKNOWN_FIELDS listing validFields;
 *  (c) pagination on lists (200 schema with data + pagination): offset metadata, a cursor walk
 *      over every item in both directions with no duplicate or gap, tampered cursors → 400
 *      INVALID_CURSOR, limit=1e9 and page=-1 → 400.
 * A route whose parameters this file cannot fill fails the inventory instead of being skipped;
 * streams are excluded by name, with the reason.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import webpush from "web-push";
import { formatHlc } from "../../src/client/sync/hlc";
import { etagOfBytes } from "../../src/http/etag";
import { type Access, routeAccess } from "../../src/http/openapi";
import { notify } from "../../src/modules/notifications";
import { DIRECT_TOPIC } from "../../src/modules/notifications/notify";
import { createOutboxConsumer } from "../../src/modules/outbox/consumer";
import { recordEvents } from "../../src/modules/outbox/record";
import { webhookAttempts, webhookMessages } from "../../src/modules/webhooks/tables";
import { queryRows } from "../../src/platform/db";
import { createTestApp, type TestApp } from "../support/app";
import { DB_KINDS } from "../support/db";
import { createBuilding, createUser, json, type TestBuilding, type TestUser } from "../support/fixtures";

const PREFIX = "/api/v1";
const VAPID = webpush.generateVAPIDKeys();
const ENV = {
  RATE_LIMIT_ENABLED: "false",
  // GET /push/vapid-public-key serves the configured key.
  VAPID_PUBLIC_KEY: VAPID.publicKey,
  VAPID_PRIVATE_KEY: VAPID.privateKey,
  // Webhook endpoints point at a loopback discard port (never contacted: no queue runs here).
  OUTBOUND_ALLOW_HOSTS: "127.0.0.1:9",
};

/** GET routes this contract cannot apply to, each with the reason. */
const EXCLUDED: Record<string, string> = {
  "/buildings/{buildingId}/events":
    "Server-Sent Events (text/event-stream): an open stream has no entity tag, no fields and no pages",
};

/**
 * Reads whose representation changes on every call, so a revalidation can never match: for these
 * the contract checks that each answer carries the strong tag of its own body and that an old tag
 * gets the new body (200), never a wrong 304.
 */
const VOLATILE: Record<string, string> = {
  "/meta/versions": "counts requests per version, this one included",
  "/admin/audit/verify": "the report carries the time of the verification (verifiedAt)",
};

/**
 * Reads whose representation follows the clock (an age in whole seconds): a revalidation within the
 * same second matches (304), one that straddles a second may get the new body (200) — with the
 * strong tag of that body, never the old tag.
 */
const CLOCKED: Record<string, string> = {
  "/admin/outbox/stats": "oldestDueAgeSeconds grows while an event waits",
};

interface Seed {
  building: TestBuilding;
  admin: TestUser;
  ids: {
    announcementId: string;
    requestId: string;
    paymentId: string;
    memberId: string;
    fileId: string;
    uploadId: string;
    endpointId: string;
    deliveryId: string;
  };
}

/** Every path parameter a read route may name, filled from the seeded building. */
const PATH_PARAMS: Record<string, (s: Seed) => string> = {
  buildingId: (s) => s.building.id,
  apartmentId: (s) => s.building.apartments[0]!.id,
  announcementId: (s) => s.ids.announcementId,
  requestId: (s) => s.ids.requestId,
  paymentId: (s) => s.ids.paymentId,
  memberId: (s) => s.ids.memberId,
  fileId: (s) => s.ids.fileId,
  uploadId: (s) => s.ids.uploadId,
  endpointId: (s) => s.ids.endpointId,
  deliveryId: (s) => s.ids.deliveryId,
};

/** Required query parameters and the value that makes the route answer for the seed. */
const REQUIRED_QUERY: Record<string, (s: Seed) => string> = {
  scope: (s) => s.building.id,
};

interface ReadRoute {
  path: string;
  access: Access;
  /** 200 schema is `{ data: [...], pagination }`: pagination applies. */
  list: boolean;
  /** 200 schema has `data: [...]`: `fields` addresses its items (the envelope stays). */
  envelope: boolean;
  /** Top-level members of the object (or of each list item) as documented. */
  fields: string[];
  requiredQuery: string[];
}

type Json = Record<string, any>;

function resolve(doc: Json, schema: Json | undefined): Json {
  let s = schema ?? {};
  for (let i = 0; s.$ref && i < 10; i++) s = doc.components.schemas[String(s.$ref).split("/").pop()!];
  return s;
}

/** The GET routes of /openapi.json, with what this file needs to call each. */
function readInventory(app: TestApp["app"]) {
  const doc = app.getOpenAPI31Document({ openapi: "3.1.0", info: { title: "c", version: "0" } }) as Json;
  const routes: ReadRoute[] = [];
  const excluded: string[] = [];
  const problems: string[] = [];
  for (const [full, item] of Object.entries(doc.paths as Record<string, Json>)) {
    const op = item.get;
    if (!op || !full.startsWith(`${PREFIX}/`)) continue;
    const path = full.slice(PREFIX.length);
    const content = (op.responses?.["200"]?.content ?? {}) as Json;
    if (content["text/event-stream"]) {
      if (EXCLUDED[path]) excluded.push(path);
      else problems.push(`GET ${path} streams (text/event-stream) but is not in EXCLUDED with a reason`);
      continue;
    }
    if (EXCLUDED[path]) problems.push(`GET ${path} is excluded but does not stream: test it`);
    const access = routeAccess.get(`GET ${path}`);
    if (!access) problems.push(`GET ${path} declares no access`);
    const schema = resolve(doc, content["application/json"]?.schema);
    if (!schema.properties) problems.push(`GET ${path} documents no JSON object for 200`);
    for (const [, name] of path.matchAll(/\{([^}]+)\}/g)) {
      if (!PATH_PARAMS[name!]) problems.push(`GET ${path}: cannot fill path parameter {${name}}`);
    }
    const requiredQuery = ((op.parameters ?? []) as Json[])
      .filter((p) => p.in === "query" && p.required)
      .map((p) => String(p.name));
    for (const name of requiredQuery) {
      if (!REQUIRED_QUERY[name]) problems.push(`GET ${path}: cannot fill required query parameter ${name}`);
    }
    const props = (schema.properties ?? {}) as Json;
    const envelope = resolve(doc, props.data).type === "array";
    const list = envelope && Boolean(props.pagination);
    const itemSchema = envelope ? resolve(doc, resolve(doc, props.data).items) : schema;
    routes.push({
      path,
      access: access ?? "public",
      list,
      envelope,
      fields: Object.keys(itemSchema.properties ?? {}),
      requiredQuery,
    });
  }
  return { routes: routes.sort((a, b) => a.path.localeCompare(b.path)), excluded, problems };
}

const probe = await createTestApp({ db: "pglite", env: ENV });
const inventory = readInventory(probe.app);
await probe.close();

describe("read-route inventory", () => {
  it("can fill the parameters of every GET route, and excludes only named streams", () => {
    expect(inventory.problems).toEqual([]);
    expect(inventory.excluded.sort()).toEqual(Object.keys(EXCLUDED).sort());
    const paths = inventory.routes.map((r) => r.path);
    for (const path of Object.keys(VOLATILE)) expect(paths, "VOLATILE names a live route").toContain(path);
    for (const path of Object.keys(CLOCKED)) expect(paths, "CLOCKED names a live route").toContain(path);
  });
  it("covers the reads of every module", () => {
    const paths = inventory.routes.map((r) => r.path);
    for (const p of ["/me", "/buildings/{buildingId}", "/buildings/{buildingId}/apartments"]) {
      expect(paths).toContain(p);
    }
    expect(inventory.routes.filter((r) => r.list).length).toBeGreaterThanOrEqual(8);
  });
});

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}

async function seed(t: TestApp): Promise<Seed> {
  const building = await createBuilding(t.services);
  const admin = await createUser(t.services, { admin: true });
  const { manager, resident } = building;
  const post = async (path: string, user: TestUser, body: unknown) => {
    const res = await t.request(`${PREFIX}${path}`, json(body, user.auth));
    const out = await res.json();
    expect(res.status, `seed POST ${path}: ${JSON.stringify(out)}`).toBeLessThan(300);
    return out as Json;
  };
  const base = `/buildings/${building.id}`;
  // Two of everything, so every list has a second page to walk to.
  const announcements = [];
  const requests = [];
  const payments = [];
  for (const i of [1, 2]) {
    announcements.push(await post(`${base}/announcements`, manager, { title: `News ${i}`, body: "..." }));
    requests.push(await post(`${base}/requests`, resident, { title: `Leak ${i}` }));
    payments.push(
      await post(`${base}/payments`, manager, {
        apartmentId: building.apartments[0]!.id,
        kind: "due",
        amountMinor: 1000 * i,
        dueDate: "2026-07-01",
      }),
    );
    await post(`${base}/requests/${requests[0]!.id}/comments`, resident, { body: `Comment ${i}` });
  }
  // Two push devices of the manager (GET /me/devices).
  for (const i of [1, 2])
    await post("/me/devices", manager, {
      platform: "android",
      provider: "fcm",
      token: `fcm-${i}-${crypto.randomUUID()}`,
    });
  // The manager belongs to a second building, so GET /buildings has two rows.
  const other = await createBuilding(t.services);
  const added = await post(`/buildings/${other.id}/members`, other.manager, {
    userId: manager.id,
    role: "manager",
  });
  // Two sync conflicts for the manager: concurrent edits where the older HLC loses.
  for (const i of [1, 2]) {
    const id = crypto.randomUUID();
    const t0 = Date.now();
    const op = (device: string, type: string, fields: Json, at: number) => ({
      opId: `op-${id}-${device}-${type}`,
      type,
      entity: "announcements",
      id,
      fields,
      hlc: formatHlc({ wall: at, counter: 0, node: device }),
    });
    const push = (device: string, ops: unknown[]) => post("/sync/push", manager, { deviceId: device, ops });
    await push("m1", [op("m1", "create", { buildingId: building.id, title: `A${i}`, body: "x" }, t0)]);
    await push("m1", [op("m1", "update", { title: "new" }, t0 + 20)]);
    await push("m2", [op("m2", "update", { title: "old" }, t0 + 10)]);
  }
  // Two dead outbox events for the admin's dead-letter list: a topic nobody handles is dead at once.
  const dead = await recordEvents(t.services.database.db, [
    { topic: "contract.unhandled", buildingId: building.id, payload: { n: 1 } },
    { topic: "contract.unhandled", buildingId: building.id, payload: { n: 2 } },
  ]);
  // The manager's pending uploads: a file to read, and a multipart upload whose parts to list.
  const file = await post(`${base}/uploads`, manager, {
    purpose: "document",
    contentType: "application/pdf",
    size: 10,
  });
  const multipart = await post(`${base}/uploads`, manager, {
    purpose: "document",
    contentType: "application/pdf",
    size: 9 * 1024 * 1024,
  });
  const consumer = createOutboxConsumer(t.services);
  for (const { id } of dead) expect(await consumer.deliver(id)).toMatchObject({ status: "dead" });
  // Two notifications in the manager's inbox (GET /me/notifications), delivered by their handler.
  for (const i of [1, 2]) {
    await notify(t.services.database.db, {
      type: "alert",
      to: { userIds: [manager.id] },
      values: { title: `Seed ${i}`, detail: "." },
    });
  }
  const direct = await queryRows<{ id: string }>(
    t.services.database.db,
    sql`select id from outbox where topic = ${DIRECT_TOPIC} and dispatched_at is null`,
  );
  for (const { id } of direct) expect(await consumer.deliver(id)).toMatchObject({ status: "ok" });
  // Two webhook endpoints of the building and two of the platform; two deliveries of the first
  // endpoint, the first with two attempts.
  const endpoints: Json[] = [];
  for (const i of [1, 2]) {
    endpoints.push(
      await post(`${base}/webhooks/endpoints`, manager, {
        url: `http://127.0.0.1:9/hook-${i}`,
        eventTypes: ["maintenance.created"],
      }),
    );
    await post("/admin/webhooks/endpoints", admin, {
      url: `http://127.0.0.1:9/platform-${i}`,
      eventTypes: ["payment.recorded"],
    });
  }
  const deliveries = await t.services.database.db
    .insert(webhookMessages)
    .values(
      [1, 2].map(() => ({
        endpointId: endpoints[0]!.id,
        buildingId: building.id,
        eventId: crypto.randomUUID(),
        eventType: "maintenance.created",
        body: "{}",
        status: "failed",
        attempts: 2,
      })),
    )
    .returning();
  await t.services.database.db.insert(webhookAttempts).values(
    [1, 2].map((attempt) => ({
      messageId: deliveries[0]!.id,
      endpointId: endpoints[0]!.id,
      attempt,
      statusCode: 500,
      responseBody: "down",
      error: "HTTP 500",
      durationMs: 3,
    })),
  );
  return {
    building,
    admin,
    ids: {
      endpointId: endpoints[0]!.id,
      deliveryId: deliveries[0]!.id,
      announcementId: announcements[0]!.id,
      requestId: requests[0]!.id,
      paymentId: payments[0]!.id,
      memberId: added.member.id,
      fileId: file.file.id,
      uploadId: multipart.file.id,
    },
  };
}

describe.each(DB_KINDS)("read-route contract on %s", (kind) => {
  let t: TestApp;
  let s: Seed;
  beforeAll(async () => {
    t = await createTestApp({ db: kind, env: ENV });
    s = await seed(t);
  });
  afterAll(() => t.close());

  const callerFor = (access: Access): TestUser | null =>
    access === "public" ? null : access === "admin" ? s.admin : s.building.manager;

  function urlOf(route: ReadRoute, query: Record<string, string> = {}): string {
    const path = route.path.replace(/\{([^}]+)\}/g, (_, name: string) => PATH_PARAMS[name]!(s));
    const params = new URLSearchParams();
    for (const name of route.requiredQuery) params.set(name, REQUIRED_QUERY[name]!(s));
    for (const [k, v] of Object.entries(query)) params.set(k, v);
    const qs = params.toString();
    return `${PREFIX}${path}${qs ? `?${qs}` : ""}`;
  }

  async function get(route: ReadRoute, query: Record<string, string> = {}, headers = {}): Promise<Reply> {
    const user = callerFor(route.access);
    const res = await t.request(urlOf(route, query), { headers: { ...(user?.auth ?? {}), ...headers } });
    const text = await res.text();
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = text;
    }
    return { status: res.status, headers: res.headers, text, body };
  }

  async function problem(route: ReadRoute, query: Record<string, string>, code?: string) {
    const r = await get(route, query);
    const what = `GET ${route.path}?${new URLSearchParams(query)}: ${r.text}`;
    expect(r.status, what).toBe(400);
    expect(r.headers.get("content-type"), what).toBe("application/problem+json");
    if (code) expect(r.body.code, what).toBe(code);
    return r.body;
  }

  it.each(inventory.routes.map((r) => [r.path, r] as const))("%s: strong ETag and 304", async (_, route) => {
    const first = await get(route);
    expect(first.status, first.text).toBe(200);
    const tag = first.headers.get("etag");
    expect(tag, "a strong entity tag").toMatch(/^"[\x21\x23-\x7e]+"$/);
    expect(tag, "the tag of this body").toBe(etagOfBytes(first.text));
    if (VOLATILE[route.path]) {
      const next = await get(route, {}, { "if-none-match": tag! });
      expect(next.status, "a changed representation is sent again").toBe(200);
      expect(next.text).not.toBe(first.text);
      expect(next.headers.get("etag")).toBe(etagOfBytes(next.text));
      return;
    }
    for (const sent of [tag!, `W/${tag}`, `"other", ${tag}`]) {
      const again = await get(route, {}, { "if-none-match": sent });
      if (CLOCKED[route.path] && again.status === 200) {
        expect(again.text, "a 200 to a matching tag only for a changed body").not.toBe(first.text);
        expect(again.headers.get("etag")).toBe(etagOfBytes(again.text));
        continue;
      }
      expect(again.status, `If-None-Match: ${sent}: ${again.text}`).toBe(304);
      expect(again.text).toBe("");
      for (const h of ["etag", "cache-control", "vary"]) {
        expect(again.headers.get(h), `${h} on the 304`).toBe(first.headers.get(h));
      }
    }
    const miss = await get(route, {}, { "if-none-match": '"not-this-one"' });
    expect(miss.status).toBe(200);
    expect(miss.headers.get("etag")).toBe(etagOfBytes(miss.text));
    if (!CLOCKED[route.path]) expect(miss.text).toBe(first.text);
  });

  it.each(inventory.routes.map((r) => [r.path, r] as const))("%s: sparse fieldsets", async (_, route) => {
    const full = await get(route);
    expect(full.status, full.text).toBe(200);
    const key = route.fields.includes("id") ? "id" : route.fields[0]!;
    expect(key, "a documented member to select").toBeTruthy();
    const only = await get(route, { fields: key });
    expect(only.status, only.text).toBe(200);
    if (route.envelope) {
      expect(only.body.data).toHaveLength(full.body.data.length);
      for (const item of only.body.data) expect(Object.keys(item)).toEqual([key]);
      expect(only.body.data.map((i: Json) => i[key])).toEqual(full.body.data.map((i: Json) => i[key]));
      expect(Object.keys(only.body)).toEqual(Object.keys(full.body));
      if (route.list) {
        const { nextCursor: _n, prevCursor: _p, ...meta } = full.body.pagination;
        expect(only.body.pagination).toMatchObject(meta);
      }
    } else {
      expect(Object.keys(only.body)).toEqual([key]);
      expect(only.body[key]).toEqual(full.body[key]);
    }
    const bad = await problem(route, { fields: `${key},noSuchFieldAnywhere` }, "UNKNOWN_FIELDS");
    expect(bad.validFields).toEqual(expect.arrayContaining([key]));
    expect(bad.unknownFields).toEqual(["noSuchFieldAnywhere"]);
  });

  const lists = inventory.routes.filter((r) => r.list);
  it.each(lists.map((r) => [r.path, r] as const))("%s: offset and cursor pagination", async (_, route) => {
    const all = await get(route, { limit: "100" });
    expect(all.status, all.text).toBe(200);
    const ids: string[] = all.body.data.map((i: Json) => i.id);
    const n = all.body.pagination.total as number;
    expect(n, "seed at least two items so there is a page to walk to").toBeGreaterThanOrEqual(2);
    expect(n).toBeLessThanOrEqual(100);
    expect(ids).toHaveLength(n);
    expect(new Set(ids).size).toBe(n);

    // Offset mode.
    for (const page of [1, 2, n, n + 1]) {
      const r = await get(route, { page: String(page), limit: "1" });
      expect(r.status, r.text).toBe(200);
      expect(r.body.pagination).toMatchObject({
        page,
        limit: 1,
        total: n,
        hasNext: page < n,
        hasPrev: page > 1,
      });
      expect(r.body.data.map((i: Json) => i.id)).toEqual(ids.slice(page - 1, page));
    }
    const two = await get(route, { page: "1", limit: "2" });
    expect(two.body.data.map((i: Json) => i.id)).toEqual(ids.slice(0, 2));
    expect(two.body.pagination).toMatchObject({ page: 1, limit: 2, hasNext: n > 2, hasPrev: false });

    // Cursor mode, forward from the first page, then back from the last.
    let r = await get(route, { limit: "1" });
    const forward: string[] = r.body.data.map((i: Json) => i.id);
    const firstCursor = r.body.pagination.nextCursor as string;
    expect(firstCursor, "the first page hands out a cursor").toEqual(expect.any(String));
    for (let i = 0; r.body.pagination.hasNext && i <= n; i++) {
      r = await get(route, { limit: "1", cursor: r.body.pagination.nextCursor });
      expect(r.status, r.text).toBe(200);
      expect(r.body.pagination).toMatchObject({ total: n, limit: 1, hasPrev: true });
      forward.push(...r.body.data.map((i: Json) => i.id));
    }
    expect(forward, "no duplicates, no gaps").toEqual(ids);
    expect(r.body.pagination.nextCursor ?? null).toBeNull();
    const backward: string[] = [];
    for (let i = 0; r.body.pagination.hasPrev && i <= n; i++) {
      r = await get(route, { limit: "1", cursor: r.body.pagination.prevCursor });
      expect(r.status, r.text).toBe(200);
      backward.unshift(...r.body.data.map((i: Json) => i.id));
    }
    expect(backward).toEqual(ids.slice(0, -1));

    // Bad input: each a clear 400.
    const [body, sig] = firstCursor.split(".") as [string, string];
    const flipped = `${sig[0] === "A" ? "B" : "A"}${sig.slice(1)}`;
    await problem(route, { cursor: `${body}.${flipped}` }, "INVALID_CURSOR");
    const payload = JSON.parse(Buffer.from(body, "base64url").toString());
    const forged = Buffer.from(JSON.stringify({ ...payload, i: ids[n - 1] })).toString("base64url");
    await problem(route, { cursor: `${forged}.${sig}` }, "INVALID_CURSOR");
    await problem(route, { cursor: "not-a-cursor" }, "INVALID_CURSOR");
    await problem(route, { limit: "1e9" });
    await problem(route, { page: "-1" });
  });
});
