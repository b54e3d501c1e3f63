/**
 * The context every verb receives: who acts, in which building, on which db handle (the database
 * or an open transaction), plus request facts for audit rows. Built from a Hono context by
 * `verbContext(c)`; the outbox worker, QStash consumers and rooms build it without Hono.
 */
import { PgTransaction } from "drizzle-orm/pg-core";
import type { Context } from "hono";
import type { AuthInfo, MembershipInfo } from "./http/auth";
import { clientIp } from "./http/client-ip";
import type { AppEnv } from "./http/env";
import { publishAfterCommit } from "./modules/realtime/publish";
import type { DbOrTx } from "./platform/db";
import type { Services } from "./services";

/**
 * Who acts: a signed-in user, the platform itself (cron, the in-process dispatcher, bootstrap),
 * or a job run on behalf of a queue (a QStash consumer). Non-user actors are named, so the audit
 * trail says which job wrote a row instead of leaving it anonymous. `null` is an anonymous request
 * (sign-up, sign-in).
 */
export type Actor =
  | ({ kind: "user" } & AuthInfo)
  | { kind: "system"; name: string }
  | { kind: "job"; name: string };

/** The acting user, or null when no user acts (anonymous, system or job). */
export function userOf(ctx: { actor: Actor | null }): AuthInfo | null {
  return ctx.actor?.kind === "user" ? ctx.actor : null;
}

export function userActor(auth: AuthInfo): Actor {
  return { kind: "user", ...auth };
}

export interface VerbContext {
  services: Services;
  db: DbOrTx;
  actor: Actor | null;
  membership: MembershipInfo | null;
  correlationId: string;
  ip: string;
  userAgent: string;
  now: Date;
}

export function verbContext(c: Context<AppEnv>): VerbContext {
  const services = c.get("services");
  const auth = c.get("auth");
  return {
    services,
    db: services.database.db,
    actor: auth ? userActor(auth) : null,
    membership: c.get("membership") ?? null,
    correlationId: c.get("correlationId"),
    ip: clientIp(c),
    userAgent: c.req.header("user-agent") ?? "",
    now: services.clock.now(),
  };
}

/**
 * Runs `fn` in one transaction with a context whose `db` is the transaction. Room messages the
 * transaction recorded (pokes from bumpBuildingVersion, domain events) are published after commit,
 * and the outbox events it recorded (recordEvent) are handed to the queue transport
 * (publishAfterCommit opens both scopes).
 *
 * Called with a context that is already in a transaction (a verb calling another verb), `fn` joins
 * it: same transaction, no savepoint, and its after-commit work waits for the outer commit. Opening
 * one on `services.database.db` instead would take another connection: an independent transaction
 * that cannot see the outer one's uncommitted rows, commits even when the outer one rolls back, and
 * waits forever on the outer one's locks (or, on single-connection PGlite, on the outer one itself).
 * A caller that wants a partial rollback opens a savepoint itself (`ctx.db.transaction`).
 */
export function inTransaction<T>(ctx: VerbContext, fn: (tx: VerbContext) => Promise<T>): Promise<T> {
  if (ctx.db instanceof PgTransaction) return fn(ctx);
  return publishAfterCommit(ctx.services, () =>
    ctx.services.database.db.transaction((tx) => fn({ ...ctx, db: tx })),
  );
}
