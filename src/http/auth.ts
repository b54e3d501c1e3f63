/**
 * Authentication and building tenancy, as route middleware.
 *  - requireAuth(): a valid bearer access token (RFC 6750), else 401 with WWW-Authenticate.
 *  - buildingAccess({ role }): resolves `{buildingId}` from the path and the caller's membership.
 *    Not a member (or no such building) → 404, so another building's existence is not revealed;
 *    a resident on a manager route → 403. Platform admins act as managers of every building.
 * Routes opt in through defineRoute({ access: ... }) in ./openapi.ts.
 */
import { sql } from "drizzle-orm";
import type { Context, MiddlewareHandler } from "hono";
import { currentContext } from "../context";
import { buildings, memberships } from "../db/schema";
import { ApiError } from "../errors";
import { verifyAccessToken } from "../modules/identity/tokens";
import { preparedSql } from "../platform/db/prepared";
import type { AppEnv } from "./env";

export type Role = "manager" | "resident";

export interface AuthInfo {
  userId: string;
  isAdmin: boolean;
}

export interface MembershipInfo {
  buildingId: string;
  role: Role;
  apartmentId: string | null;
  /** true when a platform admin acts without being a member */
  viaAdmin: boolean;
}

declare module "./env" {
  interface AppVariables {
    auth: AuthInfo;
    membership: MembershipInfo;
    /** the bearer token's verification, shared by every middleware of the request */
    bearer: Promise<AuthInfo | ApiError | null>;
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: string | undefined): s is string => !!s && UUID.test(s);

function challenge(err: ApiError): ApiError {
  const error =
    err.code === "TOKEN_EXPIRED" || err.code === "UNAUTHENTICATED" ? "invalid_token" : "invalid_request";
  return new ApiError(err.code, err.message, {
    headers: { "WWW-Authenticate": `Bearer realm="horizon", error="${error}"` },
  });
}

/**
 * The request's bearer token, verified once: null without one, an ApiError (401, with its
 * challenge) when it is invalid or expired, else its claims. Memoized on the context, so the rate
 * limiter (which runs first, to key by user) and requireAuth share one verification.
 */
export function bearerClaims(c: Context<AppEnv>): Promise<AuthInfo | ApiError | null> {
  const known = c.get("bearer");
  if (known) return known;
  const match = c.req.header("authorization")?.match(/^Bearer\s+([A-Za-z0-9._~+/-]+=*)$/i);
  const { config, clock } = c.get("services");
  const result: Promise<AuthInfo | ApiError | null> = !match
    ? Promise.resolve(null)
    : verifyAccessToken(match[1]!, config.JWT_SECRET ?? "", clock.now()).catch((err) => {
        if (err instanceof ApiError) return challenge(err);
        throw err;
      });
  c.set("bearer", result);
  return result;
}

/** Requires a valid bearer access token; sets `c.var.auth` and the request context. */
export function requireAuth(options: { adminOnly?: boolean } = {}): MiddlewareHandler<AppEnv> {
  return async function requireAuthMiddleware(c, next) {
    const claims = await bearerClaims(c);
    if (claims === null) {
      throw new ApiError("UNAUTHENTICATED", "missing bearer token", {
        headers: { "WWW-Authenticate": 'Bearer realm="horizon"' },
      });
    }
    if (claims instanceof ApiError) throw claims;
    if (options.adminOnly && !claims.isAdmin) throw new ApiError("FORBIDDEN", "platform administrators only");
    c.set("auth", claims);
    const ctx = currentContext();
    if (ctx) ctx.userId = claims.userId;
    await next();
  };
}

/**
 * The building (not deleted) and the caller's live membership in it, if any: one row when the
 * building exists. Every building-scoped request runs it, so it is a prepared statement (compiled
 * once, planned once per pooled connection): built by Drizzle per call it cost more CPU than the
 * cached building read it guards (issue 19, H3).
 */
const membershipLookup = preparedSql<{ role: Role | null; apartment_id: string | null }>(
  "horizon_building_access_v1",
  () => sql`select ${memberships.role} as role, ${memberships.apartmentId} as apartment_id
    from ${buildings} left join ${memberships}
      on ${memberships.buildingId} = ${buildings.id}
      and ${memberships.userId} = ${sql.placeholder("userId")}
      and ${memberships.deletedAt} is null
    where ${buildings.id} = ${sql.placeholder("buildingId")} and ${buildings.deletedAt} is null
    limit 1`,
);

/** Resolves the building of the path and the caller's role in it (after requireAuth). */
export function buildingAccess(options: { role?: Role } = {}): MiddlewareHandler<AppEnv> {
  return async function buildingAccessMiddleware(c, next) {
    const auth = c.get("auth");
    const buildingId = c.req.param("buildingId");
    if (!isUuid(buildingId)) throw new ApiError("NOT_FOUND", "building not found");
    const [row] = await membershipLookup(c.get("services").database.db, {
      buildingId,
      userId: auth.userId,
    });
    let membership: MembershipInfo;
    if (row?.role) {
      membership = { buildingId, role: row.role, apartmentId: row.apartment_id, viaAdmin: false };
    } else if (row && auth.isAdmin) {
      membership = { buildingId, role: "manager", apartmentId: null, viaAdmin: true };
    } else {
      throw new ApiError("NOT_FOUND", "building not found");
    }
    if (options.role === "manager" && membership.role !== "manager") {
      throw new ApiError("FORBIDDEN", "building managers only");
    }
    c.set("membership", membership);
    const ctx = currentContext();
    if (ctx) ctx.buildingId = buildingId;
    await next();
  };
}
