/**
 * Access tokens: short-lived HS256 JWTs (jose, runs on Workers, Bun and Node). The claims carry
 * only the user id and the platform-admin flag; building roles are read per request, so a
 * removed member loses access at once instead of when the token expires.
 */
import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { ApiError } from "../../errors";

export const ISSUER = "horizon";
export const AUDIENCE = "horizon-api";
export const ACCESS_TOKEN_TTL_SECONDS = 15 * 60;

export interface AccessClaims {
  userId: string;
  isAdmin: boolean;
}

// Imported once per secret: handing jose the raw bytes would import the key again on every call.
const keys = new Map<string, Promise<CryptoKey>>();
function key(secret: string): Promise<CryptoKey> {
  let k = keys.get(secret);
  if (!k) {
    const raw = new TextEncoder().encode(secret);
    k = crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    keys.set(secret, k);
  }
  return k;
}

export async function signAccessToken(
  claims: AccessClaims,
  secret: string,
  now: Date,
  ttlSeconds = ACCESS_TOKEN_TTL_SECONDS,
): Promise<string> {
  const iat = Math.floor(now.getTime() / 1000);
  return new SignJWT({ adm: claims.isAdmin, typ: "access" })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(claims.userId)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ttlSeconds)
    .setJti(crypto.randomUUID())
    .sign(await key(secret));
}

/**
 * Tokens that verified, by secret and token text, with their expiry. A device sends the same
 * token on every request for its 15 minutes, so the HMAC and claim checks run once per token,
 * not once per request; a hit still checks expiry against `now`. Only exact token strings hit (a
 * different signature is a different key), and the map is bounded: the oldest entries go first.
 */
const VERIFIED_MAX = 10_000;
const verified = new Map<string, { claims: AccessClaims; exp: number }>();

/** Verifies signature, issuer, audience, type and expiry against `now`; 401 problem otherwise. */
export async function verifyAccessToken(token: string, secret: string, now: Date): Promise<AccessClaims> {
  const cacheKey = `${secret.length}:${secret}${token}`;
  const hit = verified.get(cacheKey);
  if (hit && now.getTime() < hit.exp * 1000) return hit.claims;
  try {
    const { payload } = await jwtVerify(token, await key(secret), {
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ["HS256"],
      currentDate: now,
    });
    if (payload.typ !== "access" || typeof payload.sub !== "string") {
      throw new ApiError("UNAUTHENTICATED", "not an access token");
    }
    const claims = { userId: payload.sub, isAdmin: payload.adm === true };
    if (typeof payload.exp === "number") {
      if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value!);
      verified.set(cacheKey, { claims, exp: payload.exp });
    }
    return claims;
  } catch (err) {
    if (err instanceof ApiError) throw err;
    if (err instanceof joseErrors.JWTExpired)
      throw new ApiError("TOKEN_EXPIRED", "the access token has expired; refresh it");
    throw new ApiError("UNAUTHENTICATED", "the access token is invalid");
  }
}
