/**
 * Account verbs: create an account (register, admin bootstrap, demo seed), read and update the
 * caller's profile. Each change commits with its audit row (scope "platform") in one transaction.
 * Password hashes never leave this module: callers get a Profile.
 */
import { and, eq, isNull, ne, sql } from "drizzle-orm";
import { users } from "../../db/schema";
import { ApiError } from "../../errors";
import { type DbOrTx, isUniqueViolation } from "../../platform/db";
import type { Services } from "../../services";
import { inTransaction, userOf, type VerbContext } from "../../verbs";
import { recordAudit } from "../audit/chain";
import { assertPasswordPolicy } from "./password-policy";
import { canonicalTimeZone, LOCALES, type Profile, type UpdateProfileInput } from "./schemas";

export type UserRow = typeof users.$inferSelect;

export const normalizeEmail = (email: string) => email.trim().toLowerCase();

export function toProfile(row: UserRow): Profile {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    phone: row.phone,
    locale: (LOCALES as readonly string[]).includes(row.locale) ? (row.locale as Profile["locale"]) : "en",
    timezone: row.timezone,
    isPlatformAdmin: row.isPlatformAdmin,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** A context for work no request started (host start-up, demo seed, admin scripts). */
export function systemContext(services: Services, purpose: string): VerbContext {
  return {
    services,
    db: services.database.db,
    actor: { kind: "system", name: purpose },
    membership: null,
    correlationId: `system:${purpose}`,
    ip: "",
    userAgent: `horizon/${services.version}`,
    now: services.clock.now(),
  };
}

export async function findUserByEmail(db: DbOrTx, email: string): Promise<UserRow | undefined> {
  const [row] = await db
    .select()
    .from(users)
    .where(sql`lower(${users.email}) = ${normalizeEmail(email)}`)
    .limit(1);
  return row;
}

export interface NewAccount {
  email: string;
  password: string;
  name: string;
  phone?: string | null;
  locale?: "en" | "he";
  timezone?: string;
}

export interface CreateAccountOptions {
  isPlatformAdmin?: boolean;
  /** Audit action of the creation; `user.register` for self-service sign-up. */
  action?: string;
}

/**
 * Creates a user with an argon2id-hashed password after the password policy (WEAK_PASSWORD).
 * An email already taken, in any letter case, is 409 ALREADY_EXISTS, except by an invitation:
 * a manager who adds an unknown email to a building creates an `invited` user row (with an
 * unusable password) that the membership points at, and signing up with that email claims the
 * row (password, name, status active), so the waiting memberships work at once.
 */
export async function createAccount(
  ctx: VerbContext,
  input: NewAccount,
  options: CreateAccountOptions = {},
): Promise<Profile> {
  assertPasswordPolicy(input.password);
  const email = normalizeEmail(input.email);
  const timezone = input.timezone === undefined ? "UTC" : canonicalTimeZone(input.timezone);
  if (!timezone) throw new ApiError("VALIDATION_FAILED", `unknown time zone "${input.timezone}"`);
  // Cheap check first so a taken email does not cost an argon2 hash; the unique index decides races.
  const existing = await findUserByEmail(ctx.db, email);
  const invited = existing?.status === "invited" && !existing.deletedAt ? existing : undefined;
  if (existing && !invited) throw alreadyExists();
  const passwordHash = await ctx.services.passwords.hash(input.password);
  const fields = {
    email,
    passwordHash,
    name: input.name,
    phone: input.phone ?? null,
    locale: input.locale ?? "en",
    timezone,
    isPlatformAdmin: options.isPlatformAdmin ?? false,
  };
  try {
    const profile = await inTransaction(ctx, async (tx) => {
      // Claiming an invitation only succeeds while the row is still invited: of two sign-ups
      // racing for one invitation, the second finds nothing to claim and gets the 409.
      const [row] = invited
        ? await tx.db
            .update(users)
            .set({ ...fields, status: "active", updatedAt: ctx.now })
            .where(and(eq(users.id, invited.id), eq(users.status, "invited"), isNull(users.deletedAt)))
            .returning()
        : await tx.db.insert(users).values(fields).returning();
      if (!row) throw alreadyExists();
      const profile = toProfile(row);
      const { createdAt: _c, updatedAt: _u, ...after } = profile;
      await recordAudit(tx, {
        action: options.action ?? "user.register",
        entityType: "user",
        entityId: row.id,
        userId: userOf(ctx)?.userId ?? row.id,
        changes: invited
          ? { before: { status: "invited" }, after: { ...after, status: "active" } }
          : { after },
      });
      return profile;
    });
    if (invited) await ctx.services.cache.invalidateTag(userCacheTag(profile.id));
    return profile;
  } catch (err) {
    if (isUniqueViolation(err)) throw alreadyExists();
    throw err;
  }
}

const alreadyExists = () => new ApiError("ALREADY_EXISTS", "an account with this email already exists");

/** The signed-in user, if the account is still active. */
export async function activeUser(db: DbOrTx, userId: string): Promise<UserRow> {
  const [row] = await db
    .select()
    .from(users)
    .where(and(eq(users.id, userId), isNull(users.deletedAt), eq(users.status, "active")))
    .limit(1);
  if (!row) throw new ApiError("UNAUTHENTICATED", "the account is no longer active");
  return row;
}

/** Freshness backstop of a cached profile: every write of the user row invalidates at once. */
export const PROFILE_CACHE_TTL_MS = 60_000;

/** The cache tag of everything cached about one user (today: the profile). */
export const userCacheTag = (userId: string) => `user:${userId}`;

/**
 * GET /me, cached per user. Only active accounts are cached (the factory throws otherwise), and
 * every write of the user row (profile update, sign-up claiming an invitation, admin promotion)
 * drops the entry after its transaction commits.
 */
export async function getProfile(ctx: VerbContext): Promise<Profile> {
  const actor = userOf(ctx);
  if (!actor) throw new ApiError("UNAUTHENTICATED", "sign in first");
  return ctx.services.cache.remember(
    `profile:${actor.userId}`,
    PROFILE_CACHE_TTL_MS,
    async () => toProfile(await activeUser(ctx.db, actor.userId)),
    { tags: [userCacheTag(actor.userId)] },
  );
}

/** Updates the caller's profile; the audit row holds only the fields that changed. */
export async function updateProfile(ctx: VerbContext, input: UpdateProfileInput): Promise<Profile> {
  const actor = userOf(ctx);
  if (!actor) throw new ApiError("UNAUTHENTICATED", "sign in first");
  const patch: Partial<Pick<UserRow, "name" | "email" | "phone" | "locale" | "timezone">> = {};
  if (input.name !== undefined) patch.name = input.name;
  if (input.email !== undefined) patch.email = normalizeEmail(input.email);
  if (input.phone !== undefined) patch.phone = input.phone;
  if (input.locale !== undefined) patch.locale = input.locale;
  if (input.timezone !== undefined) patch.timezone = canonicalTimeZone(input.timezone) ?? "UTC";
  try {
    const profile = await inTransaction(ctx, async (tx) => {
      const [current] = await tx.db
        .select()
        .from(users)
        .where(eq(users.id, actor.userId))
        .for("update")
        .limit(1);
      if (!current || current.deletedAt || current.status !== "active") {
        throw new ApiError("UNAUTHENTICATED", "the account is no longer active");
      }
      if (patch.email && patch.email !== current.email) {
        const [taken] = await tx.db
          .select({ id: users.id })
          .from(users)
          .where(and(sql`lower(${users.email}) = ${patch.email}`, ne(users.id, actor.userId)))
          .limit(1);
        if (taken) throw alreadyExists();
      }
      const before: Record<string, unknown> = {};
      const after: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(patch) as Array<[keyof typeof patch, unknown]>) {
        if (current[key] !== value) {
          before[key] = current[key];
          after[key] = value;
        }
      }
      if (Object.keys(after).length === 0) return toProfile(current);
      const [row] = await tx.db
        .update(users)
        .set({ ...patch, updatedAt: ctx.now })
        .where(eq(users.id, actor.userId))
        .returning();
      await recordAudit(tx, {
        action: "user.update",
        entityType: "user",
        entityId: actor.userId,
        changes: { before, after },
      });
      return toProfile(row!);
    });
    // After commit, so no reader re-caches the row as it was before this change.
    await ctx.services.cache.invalidateTag(userCacheTag(actor.userId));
    return profile;
  } catch (err) {
    if (isUniqueViolation(err)) throw alreadyExists();
    throw err;
  }
}
