/**
 * The protected-route contract (STYLE 10): whatever a route does, its access rule holds first.
 *  - every non-public route: no token, an expired token, a token signed with another secret, a
 *    tampered token and an `alg: none` token → 401 problem+json with a Bearer challenge;
 *  - member and manager routes: a member of another building, or a building that does not exist
 *    → 404 (existence is not revealed); manager routes: a resident → 403;
 *  - admin routes: a signed-in non-admin (even a building manager) → 403;
 *  - and the rightful caller gets past the access check (so the route is not simply closed).
 * `enumerateApiRoutes(app)` lists every route of the app from /openapi.json and `routeAccess`, so
 * routes added later are covered without editing this file; `protectedRouteContract()` lets one
 * route opt in by hand (a route built outside the module registry, or a test app's probe route).
 */

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Access, routeAccess } from "../../src/http/openapi";
import { signAccessToken } from "../../src/modules/identity/tokens";
import { createTestApp, type TestApp } from "../support/app";
import { DB_KINDS, type DbKind } from "../support/db";
import { createBuilding, createUser, type TestBuilding, type TestUser, tokenFor } from "../support/fixtures";

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
  /** A manager of another building: a signed-in stranger to `building`. */
  stranger: TestUser;
  admin: TestUser;
}

export async function contractFixtures(t: TestApp): Promise<ContractFixtures> {
  const [building, other, admin] = await Promise.all([
    createBuilding(t.services),
    createBuilding(t.services),
    createUser(t.services, { admin: true, name: "Contract Admin" }),
  ]);
  return { t, building, stranger: other.manager, admin };
}

function requestPath(route: RouteUnderTest, buildingId: string): string {
  const path = route.path.replace(/\{([^}]+)\}/g, (_, name: string) =>
    name === "buildingId" ? buildingId : crypto.randomUUID(),
  );
  return `/api/v1${path}`;
}

function send(
  fx: ContractFixtures,
  route: RouteUnderTest,
  token: string | null,
  buildingId = fx.building.id,
) {
  const hasBody = !["GET", "HEAD", "DELETE"].includes(route.method);
  const headers: Record<string, string> = { "x-contract": "protected-routes" };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (hasBody) headers["content-type"] = "application/json";
  return fx.t.request(requestPath(route, buildingId), {
    method: route.method,
    headers,
    ...(hasBody ? { body: JSON.stringify(route.body ?? {}) } : {}),
  });
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
    await expectProblem(
      await send(fx, route, stranger.token),
      404,
      ["NOT_FOUND"],
      `${id} as a member of another building`,
    );
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
    rightful = stranger;
  }
  const ok = await send(fx, route, rightful.token);
  // Streams (SSE) never end: judge them by status, and close them.
  const streaming = /^text\/event-stream/.test(ok.headers.get("content-type") ?? "");
  const body = streaming ? "(stream)" : await ok.text();
  if (streaming) await ok.body?.cancel();
  expect([401, 403], `${id}: the rightful caller was refused: ${body}`).not.toContain(ok.status);
  if (
    ok.status === 404 &&
    route.path.startsWith("/buildings/{buildingId}") &&
    !/\{(?!buildingId)/.test(route.path)
  ) {
    expect.fail(`${id}: the rightful caller got 404 for its own building: ${body}`);
  }
}

const CONTRACT_ENV = { RATE_LIMIT_ENABLED: "false" };

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
