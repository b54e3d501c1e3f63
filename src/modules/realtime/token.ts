/**
 * Room tokens: short-lived HS256 JWTs that admit one user's device into one building's room.
 * A separate type and audience from access tokens, so neither can stand in for the other; the
 * room (PartyKit worker or standalone upgrade handler) verifies one before accepting a socket.
 * A token carries the building's sync version when it was minted (`bv`): a revocation at
 * version V voids every token minted before V, with no clock involved (ADR 0003).
 */
import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { ISSUER } from "../identity/tokens";

export const ROOM_AUDIENCE = "horizon-room";
export const ROOM_TOKEN_TTL_SECONDS = 60;

export interface RoomClaims {
  userId: string;
  buildingId: string;
  role: "manager" | "resident";
  deviceId: string;
  /** The building's sync version when the token was minted (membership epoch, ADR 0003). */
  version: number;
}

export type RoomTokenFailure = "missing" | "invalid" | "expired" | "wrong_building" | "revoked";

export class RoomTokenError extends Error {
  constructor(readonly reason: RoomTokenFailure) {
    super(`room token refused: ${reason}`);
    this.name = "RoomTokenError";
  }
}

const encoder = new TextEncoder();

export async function signRoomToken(
  claims: RoomClaims,
  secret: string,
  now: Date,
  ttlSeconds = ROOM_TOKEN_TTL_SECONDS,
): Promise<{ token: string; expiresAt: Date }> {
  const iat = Math.floor(now.getTime() / 1000);
  const token = await new SignJWT({
    typ: "room",
    bid: claims.buildingId,
    role: claims.role,
    dev: claims.deviceId,
    bv: claims.version,
  })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(claims.userId)
    .setIssuer(ISSUER)
    .setAudience(ROOM_AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ttlSeconds)
    .setJti(crypto.randomUUID())
    .sign(encoder.encode(secret));
  return { token, expiresAt: new Date((iat + ttlSeconds) * 1000) };
}

/** Verifies a room token for `buildingId`; throws RoomTokenError with the reason otherwise. */
export async function verifyRoomToken(
  token: string | null | undefined,
  secret: string,
  buildingId: string,
  now: Date,
): Promise<RoomClaims> {
  if (!token) throw new RoomTokenError("missing");
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, encoder.encode(secret), {
      issuer: ISSUER,
      audience: ROOM_AUDIENCE,
      algorithms: ["HS256"],
      currentDate: now,
    }));
  } catch (err) {
    throw new RoomTokenError(err instanceof joseErrors.JWTExpired ? "expired" : "invalid");
  }
  const { sub, bid, role, dev, typ, bv } = payload;
  if (
    typ !== "room" ||
    typeof sub !== "string" ||
    typeof bid !== "string" ||
    typeof dev !== "string" ||
    typeof bv !== "number" ||
    !Number.isSafeInteger(bv) ||
    bv < 0 ||
    (role !== "manager" && role !== "resident")
  ) {
    throw new RoomTokenError("invalid");
  }
  if (bid !== buildingId) throw new RoomTokenError("wrong_building");
  return { userId: sub, buildingId: bid, role, deviceId: dev, version: bv };
}

/** The token from a room URL (`?token=`), as browsers cannot set headers on a WebSocket. */
export function roomTokenFromUrl(url: string): string | null {
  return new URL(url).searchParams.get("token");
}
