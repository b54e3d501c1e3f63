/**
 * Room tokens: short-lived HS256 JWTs that admit one user's device into one building's room.
 * A separate type and audience from access tokens, so neither can stand in for the other; the
 * room (PartyKit worker or standalone upgrade handler) verifies one before accepting a socket.
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
}

export type RoomTokenFailure = "missing" | "invalid" | "expired" | "wrong_building";

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
  const { sub, bid, role, dev, typ } = payload;
  if (
    typ !== "room" ||
    typeof sub !== "string" ||
    typeof bid !== "string" ||
    typeof dev !== "string" ||
    (role !== "manager" && role !== "resident")
  ) {
    throw new RoomTokenError("invalid");
  }
  if (bid !== buildingId) throw new RoomTokenError("wrong_building");
  return { userId: sub, buildingId: bid, role, deviceId: dev };
}

/** The token from a room URL (`?token=`), as browsers cannot set headers on a WebSocket. */
export function roomTokenFromUrl(url: string): string | null {
  return new URL(url).searchParams.get("token");
}
