/**
 * The context every verb receives: who acts, in which building, on which db handle (the database
 * or an open transaction), plus request facts for audit rows. Built from a Hono context by
 * `verbContext(c)`; the outbox worker, QStash consumers and rooms build it without Hono.
 */
import type { Context } from "hono";
import type { AuthInfo, MembershipInfo } from "./http/auth";
import { clientIp } from "./http/client-ip";
import type { AppEnv } from "./http/env";
import { publishAfterCommit } from "./modules/realtime/publish";
import type { DbOrTx } from "./platform/db";
import type { Services } from "./services";

export interface VerbContext {
  services: Services;
  db: DbOrTx;
  actor: AuthInfo | null;
  membership: MembershipInfo | null;
  correlationId: string;
  ip: string;
  userAgent: string;
  now: Date;
}

export function verbContext(c: Context<AppEnv>): VerbContext {
  const services = c.var.services;
  return {
    services,
    db: services.database.db,
    actor: c.get("auth") ?? null,
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
 */
export function inTransaction<T>(ctx: VerbContext, fn: (tx: VerbContext) => Promise<T>): Promise<T> {
  return publishAfterCommit(ctx.services, () =>
    ctx.services.database.db.transaction((tx) => fn({ ...ctx, db: tx })),
  );
}
