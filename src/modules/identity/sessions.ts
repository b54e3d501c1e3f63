/**
 * Session verbs: login, refresh, logout. A login starts a refresh-token family; each refresh
 * rotates the presented token (marks it rotated, issues a successor in the same family). Presenting
 * a token that was already rotated means two parties hold the family (theft, RFC 9700 §4.14.2):
 * the whole family is revoked and the event audited, and the caller must sign in again.
 */
import { and, eq, isNull } from "drizzle-orm";
import { refreshTokens, users } from "../../db/schema";
import { ApiError } from "../../errors";
import type { PasswordHasher } from "../../platform/password";
import { inTransaction, type VerbContext } from "../../verbs";
import { recordAudit } from "../audit/chain";
import { findUserByEmail, normalizeEmail, type UserRow } from "./accounts";
import { clearAccountAttempts, takeLoginAttempt } from "./login-limit";
import { hashRefreshToken, newRefreshToken, REFRESH_TOKEN_PATTERN } from "./refresh-tokens";
import type { Tokens } from "./schemas";
import { signAccessToken } from "./tokens";

const dummyHashes = new WeakMap<PasswordHasher, Promise<string>>();

/**
 * A real hash of a random password, made once per hasher: unknown emails are verified against it
 * so a failed login costs one argon2 verify whether or not the account exists.
 */
function dummyHash(hasher: PasswordHasher): Promise<string> {
  let h = dummyHashes.get(hasher);
  if (!h) {
    h = hasher.hash(crypto.randomUUID());
    dummyHashes.set(hasher, h);
  }
  return h;
}

const isActive = (u: Pick<UserRow, "status" | "deletedAt">) => u.status === "active" && !u.deletedAt;

/** Issues an access token and a new refresh token of `familyId` (inside the caller's transaction). */
async function issueTokens(
  ctx: VerbContext,
  user: Pick<UserRow, "id" | "isPlatformAdmin">,
  familyId: string,
): Promise<Tokens> {
  const { config } = ctx.services;
  const refreshToken = newRefreshToken();
  await ctx.db.insert(refreshTokens).values({
    userId: user.id,
    familyId,
    tokenHash: await hashRefreshToken(refreshToken),
    expiresAt: new Date(ctx.now.getTime() + config.REFRESH_TOKEN_TTL_SECONDS * 1000),
    userAgent: ctx.userAgent.slice(0, 512),
    ip: ctx.ip,
  });
  const accessToken = await signAccessToken(
    { userId: user.id, isAdmin: user.isPlatformAdmin },
    config.JWT_SECRET!,
    ctx.now,
    config.ACCESS_TOKEN_TTL_SECONDS,
  );
  return { accessToken, refreshToken, expiresIn: config.ACCESS_TOKEN_TTL_SECONDS };
}

export async function login(ctx: VerbContext, input: { email: string; password: string }): Promise<Tokens> {
  const email = normalizeEmail(input.email);
  const gate = await takeLoginAttempt(ctx.services, email, ctx.ip);
  if (!gate.allowed) {
    ctx.services.logger.warn(
      { event: "login_rate_limited", scope: gate.scope, ip: ctx.ip },
      "login rate limited",
    );
    throw new ApiError("RATE_LIMITED", "too many sign-in attempts; try again later", {
      headers: { "Retry-After": String(gate.retryAfterSeconds) },
      extensions: { retryAfter: gate.retryAfterSeconds },
    });
  }
  const user = await findUserByEmail(ctx.db, email);
  const hasher = ctx.services.passwords;
  const passwordOk = await hasher.verify(input.password, user ? user.passwordHash : await dummyHash(hasher));
  // Deleted accounts answer exactly like unknown ones.
  if (!user || !passwordOk || user.deletedAt || user.status === "deleted") {
    await inTransaction(ctx, (tx) =>
      recordAudit(tx, {
        action: "auth.login_failed",
        entityType: "user",
        entityId: user?.id ?? "unknown",
        userId: user?.id ?? null,
        changes: { email, reason: user ? "bad_password" : "unknown_email" },
      }),
    );
    throw new ApiError("INVALID_CREDENTIALS", "the email or password is incorrect");
  }
  if (!isActive(user)) {
    await inTransaction(ctx, (tx) =>
      recordAudit(tx, {
        action: "auth.login_failed",
        entityType: "user",
        entityId: user.id,
        userId: user.id,
        changes: { email, reason: `account_${user.status}` },
      }),
    );
    throw new ApiError("FORBIDDEN", "this account is restricted; contact support");
  }
  await clearAccountAttempts(ctx.services, email);
  return inTransaction(ctx, async (tx) => {
    const tokens = await issueTokens(tx, user, crypto.randomUUID());
    await recordAudit(tx, { action: "auth.login", entityType: "user", entityId: user.id, userId: user.id });
    return tokens;
  });
}

type RefreshOutcome =
  | { kind: "ok"; tokens: Tokens }
  | { kind: "invalid" | "revoked" | "expired" | "reused" | "inactive" };

async function revokeFamily(ctx: VerbContext, familyId: string): Promise<void> {
  await ctx.db
    .update(refreshTokens)
    .set({ revokedAt: ctx.now })
    .where(and(eq(refreshTokens.familyId, familyId), isNull(refreshTokens.revokedAt)));
}

export async function refresh(ctx: VerbContext, presented: string): Promise<Tokens> {
  const outcome = await refreshOutcome(ctx, presented);
  // Failures are thrown after the transaction committed, so a family revocation sticks.
  switch (outcome.kind) {
    case "ok":
      return outcome.tokens;
    case "expired":
      throw new ApiError("TOKEN_EXPIRED", "the refresh token has expired; sign in again");
    case "reused":
      throw new ApiError(
        "UNAUTHENTICATED",
        "the refresh token was already used; every session of this sign-in is revoked",
      );
    case "revoked":
      throw new ApiError("UNAUTHENTICATED", "the refresh token was revoked; sign in again");
    default:
      throw new ApiError("UNAUTHENTICATED", "the refresh token is invalid");
  }
}

function refreshOutcome(ctx: VerbContext, presented: string): Promise<RefreshOutcome> {
  if (!REFRESH_TOKEN_PATTERN.test(presented)) return Promise.resolve({ kind: "invalid" });
  return inTransaction(ctx, async (tx) => {
    const tokenHash = await hashRefreshToken(presented);
    // Row lock: of two concurrent uses of one token, the second waits and then sees it rotated.
    const [row] = await tx.db
      .select()
      .from(refreshTokens)
      .where(eq(refreshTokens.tokenHash, tokenHash))
      .for("update")
      .limit(1);
    if (!row) return { kind: "invalid" };
    if (row.revokedAt) return { kind: "revoked" };
    if (row.rotatedAt) {
      await revokeFamily(tx, row.familyId);
      await recordAudit(tx, {
        action: "auth.refresh_reuse",
        entityType: "refresh_token_family",
        entityId: row.familyId,
        userId: row.userId,
        changes: {
          rotatedAt: row.rotatedAt.toISOString(),
          issuedToIp: row.ip,
          issuedToUserAgent: row.userAgent,
        },
      });
      ctx.services.logger.warn(
        { event: "refresh_token_reuse", userId: row.userId, familyId: row.familyId },
        "refresh token reuse; family revoked",
      );
      return { kind: "reused" };
    }
    if (row.expiresAt.getTime() <= tx.now.getTime()) return { kind: "expired" };
    const [user] = await tx.db.select().from(users).where(eq(users.id, row.userId)).limit(1);
    if (!user || !isActive(user)) {
      await revokeFamily(tx, row.familyId);
      return { kind: "inactive" };
    }
    await tx.db.update(refreshTokens).set({ rotatedAt: tx.now }).where(eq(refreshTokens.id, row.id));
    return { kind: "ok", tokens: await issueTokens(tx, user, row.familyId) };
  });
}

/**
 * Revokes the family of `presented`. Unknown or already revoked tokens succeed silently, as
 * token revocation does (RFC 7009 §2.2): logout is idempotent and reveals nothing.
 */
export async function logout(ctx: VerbContext, presented: string): Promise<void> {
  if (!REFRESH_TOKEN_PATTERN.test(presented)) return;
  await inTransaction(ctx, async (tx) => {
    const [row] = await tx.db
      .select()
      .from(refreshTokens)
      .where(eq(refreshTokens.tokenHash, await hashRefreshToken(presented)))
      .for("update")
      .limit(1);
    if (!row || row.revokedAt) return;
    await revokeFamily(tx, row.familyId);
    await recordAudit(tx, {
      action: "auth.logout",
      entityType: "refresh_token_family",
      entityId: row.familyId,
      userId: row.userId,
    });
  });
}
