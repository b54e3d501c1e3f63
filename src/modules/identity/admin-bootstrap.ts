/**
 * The first platform administrator, from ADMIN_EMAIL and ADMIN_PASSWORD, created when a host
 * starts (standalone) or deploys (edge migrate step). Idempotent: an existing account with that
 * email is made an administrator if it is not one yet; its password is never overwritten, so
 * rotating the variable cannot silently reset a password someone has since changed.
 */
import { eq } from "drizzle-orm";
import { users } from "../../db/schema";
import type { Services } from "../../services";
import { inTransaction } from "../../verbs";
import { recordAudit } from "../audit/chain";
import { createAccount, findUserByEmail, systemContext, userCacheTag } from "./accounts";
import { checkPasswordPolicy, PASSWORD_RULE_MESSAGES } from "./password-policy";

export type AdminBootstrapResult =
  | { status: "skipped" }
  | { status: "created" | "promoted" | "exists"; userId: string; email: string };

export class AdminBootstrapError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AdminBootstrapError";
  }
}

/** Ensures the ADMIN_EMAIL account exists and is a platform administrator. */
export async function ensurePlatformAdmin(services: Services): Promise<AdminBootstrapResult> {
  const { ADMIN_EMAIL: email, ADMIN_PASSWORD: password } = services.config;
  if (!email || !password) return { status: "skipped" };
  const unmet = checkPasswordPolicy(password);
  if (unmet.length) {
    throw new AdminBootstrapError(
      `ADMIN_PASSWORD does not meet the password policy: ${unmet.map((r) => PASSWORD_RULE_MESSAGES[r]).join("; ")}`,
    );
  }
  const ctx = systemContext(services, "admin-bootstrap");
  const existing = await findUserByEmail(ctx.db, email);
  if (existing?.isPlatformAdmin) return { status: "exists", userId: existing.id, email: existing.email };
  if (existing) {
    await inTransaction(ctx, async (tx) => {
      await tx.db.update(users).set({ isPlatformAdmin: true }).where(eq(users.id, existing.id));
      await recordAudit(tx, {
        action: "user.promote_admin",
        entityType: "user",
        entityId: existing.id,
        userId: null,
        changes: { before: { isPlatformAdmin: false }, after: { isPlatformAdmin: true } },
      });
    });
    await services.cache.invalidateTag(userCacheTag(existing.id));
    return { status: "promoted", userId: existing.id, email: existing.email };
  }
  try {
    const profile = await createAccount(
      ctx,
      { email, password, name: "Platform administrator" },
      { isPlatformAdmin: true, action: "user.bootstrap_admin" },
    );
    return { status: "created", userId: profile.id, email: profile.email };
  } catch (err) {
    // Two hosts starting at once: the other one created it.
    const again = await findUserByEmail(ctx.db, email);
    if (again?.isPlatformAdmin) return { status: "exists", userId: again.id, email: again.email };
    throw err;
  }
}
