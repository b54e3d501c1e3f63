/**
 * The protected-route contract (STYLE 10): whatever a route does, its access rule holds first.
 *  - every non-public route: no token, an expired token, a token signed with another secret, a
 *    tampered token and an `alg: none` token → 401 problem+json with a Bearer challenge;
 *  - member and manager routes: a member of other buildings (a manager of one, a resident of
 *    another), a member removed from this building (resident and manager, tokens minted and used
 *    before the removal), or a building that does not exist → 404 (existence is not revealed),
 *    with the path naming this building's real objects; manager routes: a resident → 403;
 *  - routes under an object of the building (`…/payments/{paymentId}`): a manager of another
 *    building who names this building's object under their own building gets 404, while the
 *    same request with their own object passes (so the 404 is the tenancy check, not the body);
 *  - user routes that name a building in their body (room token, sync pull and push) or list
 *    the caller's buildings: strangers and removed members get nothing of this building;
 *  - admin routes: a signed-in non-admin (even a building manager) → 403;
 *  - and the rightful caller gets past the access check (so the route is not simply closed).
 * `enumerateApiRoutes(app)` lists every route of the app from /openapi.json and `routeAccess`, so
 * routes added later are covered without editing this file; `protectedRouteContract()` lets one
 * route opt in by hand (a route built outside the module registry, or a test app's probe route).
 */

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Access, routeAccess } from "../../src/http/openapi";
import { signAccessToken } from "../../src/modules/identity/tokens";
import { webhookMessages } from "../../src/modules/webhooks/tables";
import { hlcAt } from "../integration/sync/helpers";
import { createTestApp, type TestApp } from "../support/app";
import { DB_KINDS, type DbKind } from "../support/db";
import {
  createBuilding,
  createUser,
  json,
  type TestBuilding,
  type TestUser,
  tokenFor,
} from "../support/fixtures";

export interface RouteUnderTest {
  method: string;
  /** OpenAPI-style path under the version prefix, e.g. `/buildings/{buildingId}/audit` */
  path: string;
  access: Access;
  /** JSON body to send; `{}` for methods with a body when omitted. Auth must fail before validation. */
  body?: unknown;
}

export interface RouteInventory {
  /** Every route under /api/vN with its declared access (deduplicated across versions). */
  routes: RouteUnderTest[];
  /** `METHOD /api/vN/path` documented in /openapi.json without a defineRoute access declaration. */
  undeclared: string[];
  /** `METHOD /api/vN/path` served by the app but missing from /openapi.json. */
  undocumented: string[];
}

const VERSIONED = /^\/api\/v\d+(?=\/)/;
const METHODS = ["get", "post", "put", "patch", "delete"] as const;

/** Lists the app's API routes from its OpenAPI document and checks each declared its access. */
export function enumerateApiRoutes(app: TestApp["app"]): RouteInventory {
  const doc = app.getOpenAPI31Document({ openapi: "3.1.0", info: { title: "contract", version: "0" } });
  const routes = new Map<string, RouteUnderTest>();
  const undeclared: string[] = [];
  const documented = new Set<string>();
  for (const [fullPath, item] of Object.entries(doc.paths ?? {})) {
    const prefix = VERSIONED.exec(fullPath)?.[0];
    if (!prefix) continue;
    const path = fullPath.slice(prefix.length);
    for (const method of METHODS) {
      if (!(item as Record<string, unknown>)[method]) continue;
      const key = `${method.toUpperCase()} ${path}`;
      documented.add(`${method.toUpperCase()} ${fullPath}`);
      const access = routeAccess.get(key);
      if (!access) undeclared.push(`${method.toUpperCase()} ${fullPath}`);
      else routes.set(key, { method: method.toUpperCase(), path, access });
    }
  }
  const undocumented = new Set<string>();
  for (const r of app.routes) {
    if (r.method === "ALL" || !VERSIONED.test(r.path) || r.path.endsWith("*")) continue;
    const openapiPath = r.path.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, "{$1}");
    const key = `${r.method} ${openapiPath}`;
    if (!documented.has(key)) undocumented.add(key);
  }
  return {
    routes: [...routes.values()].sort((a, b) =>
      `${a.path} ${a.method}`.localeCompare(`${b.path} ${b.method}`),
    ),
    undeclared,
    undocumented: [...undocumented],
  };
}

export interface ContractFixtures {
  t: TestApp;
  building: TestBuilding;
  /** A manager of another building (`strangerBuilding`) and a resident of a third: a stranger to `building`. */
  stranger: TestUser;
  strangerBuilding: TestBuilding;
  /** Former members of `building` (a resident and a manager), removed through the API. */
  removed: TestUser[];
  admin: TestUser;
}

export async function contractFixtures(t: TestApp): Promise<ContractFixtures> {
  const [building, other, third, admin, exResident, exManager] = await Promise.all([
    createBuilding(t.services),
    createBuilding(t.services),
    createBuilding(t.services),
    createUser(t.services, { admin: true, name: "Contract Admin" }),
    createUser(t.services, { name: "Former Resident" }),
    createUser(t.services, { name: "Former Manager" }),
  ]);
  const stranger = other.manager;
  const m = building.manager.auth;
  const addMember = async (b: TestBuilding, body: Record<string, unknown>) => {
    const res = await t.request(`/api/v1/buildings/${b.id}/members`, json(body, b.manager.auth));
    expect(res.status, `add member: ${await res.clone().text()}`).toBe(201);
    return ((await res.json()) as { member: { id: string } }).member.id;
  };
  await addMember(third, { userId: stranger.id, role: "resident", apartmentId: third.apartments[0]!.id });
  const ids = [
    await addMember(building, {
      userId: exResident.id,
      role: "resident",
      apartmentId: building.apartments[2]!.id,
    }),
    await addMember(building, { userId: exManager.id, role: "manager" }),
  ];
  // They use the building first (so nothing they were granted could be cached as a miss), then
  // lose it; their tokens were minted before the removal and stay cryptographically valid.
  for (const u of [exResident, exManager]) {
    for (const path of ["", "/apartments", "/announcements"]) {
      const res = await t.request(`/api/v1/buildings/${building.id}${path}`, { headers: u.auth });
      expect(res.status, `${u.email} before removal ${path}`).toBe(200);
    }
  }
  for (const id of ids) {
    const res = await t.request(`/api/v1/buildings/${building.id}/members/${id}`, {
      method: "DELETE",
      headers: m,
    });
    expect(res.status, "remove member").toBe(204);
  }
  return { t, building, stranger, strangerBuilding: other, removed: [exResident, exManager], admin };
}

let objectNo = 0;

/**
 * A fresh object of each kind a path can name, in `b`, made through the API by its manager: a
 * route under test may delete or change it. Keys are the path parameter names.
 */
export async function freshObjects(t: TestApp, b: TestBuilding): Promise<Record<string, string>> {
  const post = async (path: string, body: unknown) => {
    const res = await t.request(`/api/v1/buildings/${b.id}${path}`, json(body, b.manager.auth));
    expect(res.status, `POST ${path}: ${await res.clone().text()}`).toBe(201);
    return (await res.json()) as Record<string, any>;
  };
  const n = objectNo++;
  // One apartment with nothing in it (deletable), one that the other objects belong to.
  const free = await post("/apartments", { number: `F${n}`, floor: 2 });
  const used = await post("/apartments", { number: `U${n}`, floor: 2 });
  const user = await createUser(t.services, { name: "Object Member" });
  const member = await post("/members", { userId: user.id, role: "resident", apartmentId: used.id });
  const announcement = await post("/announcements", { title: `Notice ${n}`, body: "text" });
  const payment = await post("/payments", {
    apartmentId: used.id,
    kind: "due",
    amountMinor: 1000,
    dueDate: "2025-07-01",
  });
  const request = await post("/requests", { title: `Leak ${n}`, apartmentId: used.id });
  // The manager's upload with its bytes in storage (completable), also readable as a file.
  const upload = await post("/uploads", { purpose: "document", contentType: "application/pdf", size: 10 });
  const put = upload.upload.request;
  const stored = await t.app.request(put.url, {
    method: "PUT",
    headers: put.headers,
    body: new Uint8Array(10),
  });
  expect(stored.status, "PUT the upload's bytes").toBe(200);
  // A push device of the manager (DELETE /me/devices/{deviceId}).
  const device = await t.request(
    "/api/v1/me/devices",
    json(
      { platform: "android", provider: "fcm", token: `fcm-object-${n}-${crypto.randomUUID()}` },
      b.manager.auth,
    ),
  );
  expect(device.status, `POST /me/devices: ${await device.clone().text()}`).toBe(201);
  // A webhook endpoint (a loopback discard port the contract allowlists: nothing is contacted) and
  // one finished delivery of it, so replay has something to send again.
  const endpoint = await post("/webhooks/endpoints", {
    url: `http://${CONTRACT_WEBHOOK_HOST}/hook`,
    eventTypes: ["maintenance.created"],
  });
  const [delivery] = await t.services.database.db
    .insert(webhookMessages)
    .values({
      endpointId: endpoint.id,
      buildingId: b.id,
      eventId: crypto.randomUUID(),
      eventType: "maintenance.created",
      body: "{}",
      status: "succeeded",
    })
    .returning();
  return {
    endpointId: endpoint.id,
    deliveryId: delivery!.id,
    deviceId: ((await device.json()) as { id: string }).id,
    apartmentId: free.id,
    memberId: member.member.id,
    announcementId: announcement.id,
    paymentId: payment.id,
    requestId: request.id,
    uploadId: upload.file.id,
    fileId: upload.file.id,
  };
}

/** Bodies the rightful caller's request succeeds with, for routes under a building's object. */
const VALID_BODIES: Record<string, unknown> = {
  "PATCH /buildings/{buildingId}/announcements/{announcementId}": { title: "Changed" },
  "PATCH /buildings/{buildingId}/apartments/{apartmentId}": { floor: 3 },
  "PATCH /buildings/{buildingId}/members/{memberId}": { role: "resident" },
  "PATCH /buildings/{buildingId}/payments/{paymentId}": { amountMinor: 1200 },
  "PATCH /buildings/{buildingId}/requests/{requestId}": { title: "Changed" },
  "POST /buildings/{buildingId}/requests/{requestId}/comments": { body: "A comment" },
  "POST /buildings/{buildingId}/uploads/{uploadId}/parts": { partNumbers: [1] },
  "POST /buildings/{buildingId}/uploads/{uploadId}/complete": {},
  "PATCH /buildings/{buildingId}/webhooks/endpoints/{endpointId}": { description: "Changed" },
  "POST /buildings/{buildingId}/webhooks/endpoints/{endpointId}/replay": { since: "2026-01-01T00:00:00Z" },
  "POST /buildings/{buildingId}/webhooks/endpoints/{endpointId}/ping": {},
  "POST /buildings/{buildingId}/webhooks/endpoints/{endpointId}/rotate-secret": {},
  "POST /buildings/{buildingId}/webhooks/endpoints/{endpointId}/deliveries/{deliveryId}/replay": {},
};

function requestPath(
  route: RouteUnderTest,
  buildingId: string,
  objects: Record<string, string> = {},
): string {
  const path = route.path.replace(/\{([^}]+)\}/g, (_, name: string) =>
    name === "buildingId" ? buildingId : (objects[name] ?? crypto.randomUUID()),
  );
  return `/api/v1${path}`;
}

function send(
  fx: ContractFixtures,
  route: RouteUnderTest,
  token: string | null,
  buildingId = fx.building.id,
  objects: Record<string, string> = {},
  body: unknown = route.body ?? {},
) {
  const hasBody = !["GET", "HEAD", "DELETE"].includes(route.method);
  const headers: Record<string, string> = { "x-contract": "protected-routes" };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (hasBody) headers["content-type"] = "application/json";
  return fx.t.request(requestPath(route, buildingId, objects), {
    method: route.method,
    headers,
    ...(hasBody ? { body: JSON.stringify(body) } : {}),
  });
}

/** Answers of a stream (SSE) never end: read the status, then close it. */
async function settle(res: Response): Promise<string> {
  if (/^text\/event-stream/.test(res.headers.get("content-type") ?? "")) {
    await res.body?.cancel();
    return "(stream)";
  }
  return res.text();
}

async function expectProblem(res: Response, status: number, codes: string[], what: string) {
  const text = await res.text();
  expect(res.status, `${what}: ${text}`).toBe(status);
  expect(res.headers.get("content-type"), what).toBe("application/problem+json");
  expect(codes, `${what}: ${text}`).toContain(JSON.parse(text).code);
}

const b64url = (s: string) => Buffer.from(s).toString("base64url");

/** Runs every check of the contract for one route (throws on the first violation). */
export async function checkProtectedRoute(fx: ContractFixtures, route: RouteUnderTest): Promise<void> {
  const { t, building, stranger, admin } = fx;
  const id = `${route.method} ${route.path} (${route.access})`;
  if (route.access === "public") return;
  const services = t.services;
  // The most privileged caller there is, so that only the token's own defect can fail it.
  const strongest = admin;

  const none = await send(fx, route, null);
  await expectProblem(none, 401, ["UNAUTHENTICATED"], `${id} without a token`);
  expect(none.headers.get("www-authenticate"), id).toMatch(/^Bearer /);

  const past = new Date(services.clock.now().getTime() - 3600_000);
  const expired = await tokenFor(services, strongest.id, true, past, 60);
  await expectProblem(await send(fx, route, expired), 401, ["TOKEN_EXPIRED"], `${id} with an expired token`);

  const forged = await signAccessToken(
    { userId: strongest.id, isAdmin: true },
    "another-secret-another-secret-another-secret!",
    services.clock.now(),
  );
  await expectProblem(
    await send(fx, route, forged),
    401,
    ["UNAUTHENTICATED"],
    `${id} with a token signed by another secret`,
  );

  const [h, p, s] = (await tokenFor(services, building.resident.id)).split(".");
  const claims = JSON.parse(Buffer.from(p!, "base64url").toString());
  const tampered = `${h}.${b64url(JSON.stringify({ ...claims, adm: true, sub: strongest.id }))}.${s}`;
  await expectProblem(
    await send(fx, route, tampered),
    401,
    ["UNAUTHENTICATED"],
    `${id} with a tampered token`,
  );
  const unsigned = `${b64url(JSON.stringify({ alg: "none", typ: "JWT" }))}.${b64url(JSON.stringify({ ...claims, adm: true }))}.`;
  await expectProblem(
    await send(fx, route, unsigned),
    401,
    ["UNAUTHENTICATED"],
    `${id} with an alg:none token`,
  );

  let rightful: TestUser;
  if (route.access === "admin") {
    await expectProblem(
      await send(fx, route, building.manager.token),
      403,
      ["FORBIDDEN"],
      `${id} as a building manager`,
    );
    rightful = admin;
  } else if (route.access === "member" || route.access === "manager") {
    const objectParams = [...route.path.matchAll(/\{([^}]+)\}/g)]
      .map((m) => m[1]!)
      .filter((p) => p !== "buildingId");
    const objects = objectParams.length ? await freshObjects(t, building) : {};
    await expectProblem(
      await send(fx, route, stranger.token, building.id, objects),
      404,
      ["NOT_FOUND"],
      `${id} as a member of other buildings`,
    );
    for (const former of fx.removed) {
      await expectProblem(
        await send(fx, route, former.token, building.id, objects),
        404,
        ["NOT_FOUND"],
        `${id} as ${former.email}, removed from the building`,
      );
    }
    if (objectParams.length) await checkCrossBuildingObject(fx, route, objects, objectParams);
    await expectProblem(
      await send(fx, route, admin.token, crypto.randomUUID()),
      404,
      ["NOT_FOUND"],
      `${id} for a building that does not exist`,
    );
    if (route.access === "manager") {
      await expectProblem(
        await send(fx, route, building.resident.token),
        403,
        ["FORBIDDEN"],
        `${id} as a resident`,
      );
    }
    rightful = building.manager;
  } else {
    await checkBuildingScopedUserRoute(fx, route);
    rightful = stranger;
  }
  const ok = await send(fx, route, rightful.token);
  const body = await settle(ok);
  expect([401, 403], `${id}: the rightful caller was refused: ${body}`).not.toContain(ok.status);
  if (
    ok.status === 404 &&
    route.path.startsWith("/buildings/{buildingId}") &&
    !/\{(?!buildingId)/.test(route.path)
  ) {
    expect.fail(`${id}: the rightful caller got 404 for its own building: ${body}`);
  }
}

/**
 * A manager of another building names this building's object under their own building: 404, and
 * the object is untouched. The same request with their own building's object must pass, so the
 * 404 comes from the tenancy check and not from the body or the route being closed.
 */
async function checkCrossBuildingObject(
  fx: ContractFixtures,
  route: RouteUnderTest,
  objects: Record<string, string>,
  params: string[],
) {
  const { t, stranger, strangerBuilding } = fx;
  const id = `${route.method} ${route.path}`;
  const hasBody = !["GET", "HEAD", "DELETE"].includes(route.method);
  const body = VALID_BODIES[id];
  if (hasBody && body === undefined) expect.fail(`${id}: add a body the route accepts to VALID_BODIES`);
  await expectProblem(
    await send(fx, route, stranger.token, strangerBuilding.id, objects, body),
    404,
    ["NOT_FOUND"],
    `${id} naming another building's ${params.join(", ")} under the caller's own building`,
  );
  const own = await freshObjects(t, strangerBuilding);
  const control = await send(fx, route, stranger.token, strangerBuilding.id, own, body);
  const text = await settle(control);
  expect(control.status, `${id} with the caller's own ${params.join(", ")}: ${text}`).toBeLessThan(300);
  expect(control.status, `${id} with the caller's own ${params.join(", ")}: ${text}`).toBeGreaterThanOrEqual(
    200,
  );
}

/**
 * User routes whose body or answer names buildings: what a stranger or a removed member gets of
 * this building. Keyed by `METHOD path`; a route not listed here names no building.
 */
const BUILDING_SCOPED: Record<string, (fx: ContractFixtures, who: TestUser, what: string) => Promise<void>> =
  {
    "GET /buildings": async (fx, who, what) => {
      const res = await fx.t.request("/api/v1/buildings?limit=100", { headers: who.auth });
      expect(res.status, what).toBe(200);
      const ids = ((await res.json()) as { data: Array<{ id: string }> }).data.map((b) => b.id);
      expect(ids, what).not.toContain(fx.building.id);
    },
    "POST /realtime/token": async (fx, who, what) => {
      const res = await fx.t.request(
        "/api/v1/realtime/token",
        json({ buildingId: fx.building.id, deviceId: "contract-device" }, who.auth),
      );
      await expectProblem(res, 404, ["NOT_FOUND"], what);
    },
    "POST /sync/pull": async (fx, who, what) => {
      const res = await fx.t.request(
        "/api/v1/sync/pull",
        json({ buildings: { [fx.building.id]: null } }, who.auth),
      );
      const text = await res.text();
      expect(res.status, `${what}: ${text}`).toBe(200);
      const body = JSON.parse(text);
      expect(body.errors?.[fx.building.id]?.code, `${what}: ${text}`).toBe("NOT_FOUND");
      expect(body.cursors?.[fx.building.id], what).toBeUndefined();
      expect(text, what).not.toContain(fx.building.apartments[0]!.id);
    },
    "POST /sync/push": async (fx, who, what) => {
      const op = {
        opId: `contract:${crypto.randomUUID()}`,
        type: "create",
        entity: "maintenance_requests",
        id: crypto.randomUUID(),
        fields: { buildingId: fx.building.id, title: "Intruder", apartmentId: fx.building.apartments[0]!.id },
        hlc: hlcAt(Date.now(), "contract-device"),
      };
      const res = await fx.t.request(
        "/api/v1/sync/push",
        json({ deviceId: "contract-device", ops: [op] }, who.auth),
      );
      const text = await res.text();
      expect(res.status, `${what}: ${text}`).toBe(200);
      expect(JSON.parse(text).results, `${what}: ${text}`).toMatchObject([
        { status: "rejected", reason: "NOT_FOUND" },
      ]);
    },
  };

async function checkBuildingScopedUserRoute(fx: ContractFixtures, route: RouteUnderTest) {
  const check = BUILDING_SCOPED[`${route.method} ${route.path}`];
  if (!check) return;
  for (const who of [fx.stranger, ...fx.removed])
    await check(fx, who, `${route.method} ${route.path} as ${who.email}, not a member of the building`);
  // The stranger's own buildings still answer, so the refusals above are about this building.
  if (route.path === "/realtime/token") {
    const res = await fx.t.request(
      "/api/v1/realtime/token",
      json({ buildingId: fx.strangerBuilding.id, deviceId: "contract-device" }, fx.stranger.auth),
    );
    expect(res.status, "room token for the stranger's own building").toBe(200);
  }
}

/** Webhook endpoints of the contract point at a loopback discard port, allowlisted here. */
const CONTRACT_WEBHOOK_HOST = "127.0.0.1:9";
const CONTRACT_ENV = { RATE_LIMIT_ENABLED: "false", OUTBOUND_ALLOW_HOSTS: CONTRACT_WEBHOOK_HOST };

/**
 * One call opts a route into the contract on every database kind:
 * `protectedRouteContract("PATCH /me", { method: "PATCH", path: "/me", access: "user" })`.
 */
export function protectedRouteContract(
  describeName: string,
  route: RouteUnderTest,
  kinds: DbKind[] = DB_KINDS,
): void {
  describe.each(kinds)(`${describeName} (protected-route contract on %s)`, (kind) => {
    let t: TestApp;
    let fx: ContractFixtures;
    beforeAll(async () => {
      t = await createTestApp({ db: kind, env: CONTRACT_ENV });
      fx = await contractFixtures(t);
    });
    afterAll(() => t.close());
    it(`enforces ${route.access} access`, () => checkProtectedRoute(fx, route));
  });
}

/** The whole app: every route it serves, on every database kind. */
export async function protectedRoutesSuite(kinds: DbKind[] = DB_KINDS): Promise<void> {
  const probe = await createTestApp({ db: "pglite", env: CONTRACT_ENV });
  const inventory = enumerateApiRoutes(probe.app);
  await probe.close();

  describe("route inventory", () => {
    it("every /api route declares its access (no forgotten security)", () => {
      expect(inventory.undeclared).toEqual([]);
    });
    it("every /api route the app serves is in /openapi.json", () => {
      expect(inventory.undocumented).toEqual([]);
    });
    it("finds the routes of every module", () => {
      const paths = inventory.routes.map((r) => `${r.method} ${r.path}`);
      expect(paths).toEqual(
        expect.arrayContaining(["GET /me", "GET /buildings/{buildingId}/audit", "GET /admin/audit/verify"]),
      );
    });
  });

  const protectedRoutes = inventory.routes.filter((r) => r.access !== "public");
  describe.each(kinds)("protected-route contract on %s", (kind) => {
    let t: TestApp;
    let fx: ContractFixtures;
    beforeAll(async () => {
      t = await createTestApp({ db: kind, env: CONTRACT_ENV });
      fx = await contractFixtures(t);
    });
    afterAll(() => t.close());
    it.each(protectedRoutes.map((r) => [`${r.method} ${r.path} (${r.access})`, r] as const))(
      "%s",
      (_, route) => checkProtectedRoute(fx, route),
    );
  });
}
