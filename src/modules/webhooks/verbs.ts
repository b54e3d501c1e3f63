/**
 * Webhook endpoint verbs: subscriptions (register, list, read, edit, delete, rotate the secret),
 * operations (deliveries and attempts, replay, ping, health). A scope is a building (its managers;
 * routes check the role) or the platform (administrators). An endpoint of another building is 404;
 * administrators operate every endpoint, the platform's and the buildings'.
 * Platform-neutral: the URL check resolves names where the host can (Node), and delivery itself is
 * the Node-only outbox handler (./deliver.ts).
 */
import { and, desc, eq, gte, inArray, sql } from "drizzle-orm";
import { ApiError } from "../../errors";
import type { PaginationQuery } from "../../http/pagination";
import { createKvBreaker, type KvBreaker } from "../../platform/kv-breaker";
import { assertPublicUrl, OutboundRefused, outboundPolicyFrom } from "../../platform/net/ssrf";
import type { DomainEventType } from "../../protocol/events";
import type { Services } from "../../services";
import { inTransaction, type VerbContext } from "../../verbs";
import { actorId, listPage } from "../buildings/common";
import { recordEvents } from "../outbox/record";
import { PING_TYPE, webhookBody } from "./catalogue";
import { generateSecret } from "./signing";
import { webhookAttempts, webhookEndpoints, webhookMessages } from "./tables";

export const DELIVER_TOPIC = "webhooks.deliver";
export const DISPATCH_TOPIC = "webhooks.dispatch";
/** How long the secret before a rotation still signs (and so verifies) deliveries. */
export const ROTATION_OVERLAP_MS = 24 * 3600 * 1000;

export type Scope = { kind: "building"; buildingId: string } | { kind: "platform" };
export type EndpointRow = typeof webhookEndpoints.$inferSelect;
export type MessageRow = typeof webhookMessages.$inferSelect;
export type AttemptRow = typeof webhookAttempts.$inferSelect;

export interface EndpointInput {
  url: string;
  eventTypes: DomainEventType[];
  description?: string;
  active?: boolean;
}

/** The breaker of one endpoint, its state in kv (shared by every delivering process). */
export function endpointBreaker(
  services: Services,
  endpointId: string,
  onOpen?: (name: string) => void,
): KvBreaker {
  return createKvBreaker({
    kv: services.kv,
    name: `webhook:${endpointId}`,
    openMs: services.config.WEBHOOK_BREAKER_OPEN_MS,
    now: () => services.clock.now().getTime(),
    onStateChange: (change) => {
      if (change.to === "open") onOpen?.(change.name);
    },
  });
}

/** A refused target as the 400 problem the API answers. */
export function refusedUrl(err: OutboundRefused): ApiError {
  return new ApiError("BAD_REQUEST", `url refused: ${err.message}`, {
    errors: [{ path: "json.url", message: `${err.reason}: ${err.message}` }],
    extensions: { reason: err.reason },
  });
}

async function checkUrl(ctx: VerbContext, url: string): Promise<void> {
  try {
    await assertPublicUrl(url, outboundPolicyFrom(ctx.services.config));
  } catch (err) {
    if (err instanceof OutboundRefused) throw refusedUrl(err);
    throw err;
  }
}

/** A building sees its own endpoints; platform administrators operate every endpoint. */
const scopeWhere = (scope: Scope) =>
  scope.kind === "building" ? eq(webhookEndpoints.buildingId, scope.buildingId) : undefined;

export async function findEndpoint(ctx: VerbContext, scope: Scope, endpointId: string): Promise<EndpointRow> {
  const [row] = await ctx.db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, endpointId), scopeWhere(scope)));
  if (!row) throw new ApiError("NOT_FOUND", `webhook endpoint ${endpointId} not found`);
  return row;
}

export async function createEndpoint(args: {
  ctx: VerbContext;
  scope: Scope;
  input: EndpointInput;
}): Promise<{ endpoint: EndpointRow; secret: string }> {
  const { ctx, scope, input } = args;
  await checkUrl(ctx, input.url);
  const secret = generateSecret();
  const [row] = await ctx.db
    .insert(webhookEndpoints)
    .values({
      buildingId: scope.kind === "building" ? scope.buildingId : null,
      url: input.url,
      description: input.description ?? "",
      eventTypes: [...new Set(input.eventTypes)],
      active: input.active ?? true,
      secret,
      createdBy: actorId(ctx),
    })
    .returning();
  return { endpoint: row!, secret };
}

export function listEndpoints(args: { ctx: VerbContext; scope: Scope; query: PaginationQuery }) {
  const { ctx, scope, query } = args;
  const where = scopeWhere(scope);
  return listPage<EndpointRow>(ctx, query, {
    table: webhookEndpoints,
    where,
    sort: {
      column: webhookEndpoints.createdAt,
      id: webhookEndpoints.id,
      direction: "desc",
      key: (r) => r.createdAt,
    },
    scope: `webhook-endpoints:${scope.kind === "building" ? scope.buildingId : "platform"}`,
    fetch: ({ where: w, orderBy, limit, offset }) =>
      ctx.db
        .select()
        .from(webhookEndpoints)
        .where(w)
        .orderBy(...orderBy)
        .limit(limit)
        .offset(offset),
  });
}

export async function updateEndpoint(args: {
  ctx: VerbContext;
  scope: Scope;
  endpointId: string;
  input: Partial<EndpointInput>;
}): Promise<EndpointRow> {
  const { ctx, scope, endpointId, input } = args;
  const before = await findEndpoint(ctx, scope, endpointId);
  if (input.url !== undefined) await checkUrl(ctx, input.url);
  const reactivated = input.active === true && !before.active;
  const [row] = await ctx.db
    .update(webhookEndpoints)
    .set({
      ...(input.url !== undefined ? { url: input.url } : {}),
      ...(input.description !== undefined ? { description: input.description } : {}),
      ...(input.eventTypes !== undefined ? { eventTypes: [...new Set(input.eventTypes)] } : {}),
      ...(input.active !== undefined ? { active: input.active } : {}),
      // Turned back on by hand: a fresh start (no failing clock, breaker closed).
      ...(reactivated ? { disabledReason: null, failingSince: null } : {}),
      updatedAt: ctx.now,
    })
    .where(eq(webhookEndpoints.id, endpointId))
    .returning();
  if (reactivated) await endpointBreaker(ctx.services, endpointId).reset();
  return row!;
}

export async function deleteEndpoint(args: { ctx: VerbContext; scope: Scope; endpointId: string }) {
  await findEndpoint(args.ctx, args.scope, args.endpointId);
  await args.ctx.db.delete(webhookEndpoints).where(eq(webhookEndpoints.id, args.endpointId));
  await endpointBreaker(args.ctx.services, args.endpointId).reset();
}

/**
 * A new secret; the current one keeps signing (deliveries carry both signatures) for 24 hours,
 * so receivers switch over at their own pace. A second rotation inside that window drops the
 * oldest secret.
 */
export async function rotateSecret(args: {
  ctx: VerbContext;
  scope: Scope;
  endpointId: string;
}): Promise<{ endpoint: EndpointRow; secret: string }> {
  const { ctx, scope, endpointId } = args;
  const before = await findEndpoint(ctx, scope, endpointId);
  const secret = generateSecret();
  const [row] = await ctx.db
    .update(webhookEndpoints)
    .set({
      secret,
      previousSecret: before.secret,
      previousSecretExpiresAt: new Date(ctx.now.getTime() + ROTATION_OVERLAP_MS),
      updatedAt: ctx.now,
    })
    .where(eq(webhookEndpoints.id, endpointId))
    .returning();
  return { endpoint: row!, secret };
}

/** The secrets a delivery made now is signed with: current first, then the previous while valid. */
export function signingSecrets(endpoint: EndpointRow, now: Date): string[] {
  const out = [endpoint.secret];
  if (endpoint.previousSecret && endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt > now) {
    out.push(endpoint.previousSecret);
  }
  return out;
}

export async function listMessages(args: {
  ctx: VerbContext;
  scope: Scope;
  endpointId: string;
  query: PaginationQuery;
  status?: string;
}) {
  const { ctx, scope, endpointId, query, status } = args;
  await findEndpoint(ctx, scope, endpointId);
  const where = and(
    eq(webhookMessages.endpointId, endpointId),
    status ? eq(webhookMessages.status, status) : undefined,
  );
  return listPage<MessageRow>(ctx, query, {
    table: webhookMessages,
    where,
    sort: {
      column: webhookMessages.createdAt,
      id: webhookMessages.id,
      direction: "desc",
      key: (r) => r.createdAt,
    },
    scope: `webhook-messages:${endpointId}:${status ?? ""}`,
    fetch: ({ where: w, orderBy, limit, offset }) =>
      ctx.db
        .select()
        .from(webhookMessages)
        .where(w)
        .orderBy(...orderBy)
        .limit(limit)
        .offset(offset),
  });
}

async function findMessage(ctx: VerbContext, scope: Scope, endpointId: string, messageId: string) {
  await findEndpoint(ctx, scope, endpointId);
  const [row] = await ctx.db
    .select()
    .from(webhookMessages)
    .where(and(eq(webhookMessages.id, messageId), eq(webhookMessages.endpointId, endpointId)));
  if (!row) throw new ApiError("NOT_FOUND", `delivery ${messageId} not found`);
  return row;
}

export async function listAttempts(args: {
  ctx: VerbContext;
  scope: Scope;
  endpointId: string;
  messageId: string;
  query: PaginationQuery;
}) {
  const { ctx, scope, endpointId, messageId, query } = args;
  await findMessage(ctx, scope, endpointId, messageId);
  return listPage<AttemptRow>(ctx, query, {
    table: webhookAttempts,
    where: eq(webhookAttempts.messageId, messageId),
    sort: {
      column: webhookAttempts.createdAt,
      id: webhookAttempts.id,
      direction: "desc",
      key: (r) => r.createdAt,
    },
    scope: `webhook-attempts:${messageId}`,
    fetch: ({ where: w, orderBy, limit, offset }) =>
      ctx.db
        .select()
        .from(webhookAttempts)
        .where(w)
        .orderBy(...orderBy)
        .limit(limit)
        .offset(offset),
  });
}

/** Makes messages pending again and records one delivery event each, in one transaction. */
async function requeue(ctx: VerbContext, messages: Array<{ id: string; buildingId: string | null }>) {
  if (!messages.length) return;
  await inTransaction(ctx, async (tx) => {
    await tx.db
      .update(webhookMessages)
      // A replay gets the full set of attempts again; the attempt rows keep the history.
      .set({ status: "pending", attempts: 0, updatedAt: tx.now })
      .where(
        inArray(
          webhookMessages.id,
          messages.map((m) => m.id),
        ),
      );
    await recordEvents(
      tx.db,
      messages.map((m) => ({ topic: DELIVER_TOPIC, buildingId: m.buildingId, payload: { messageId: m.id } })),
    );
  });
}

/** Sends one message again (same webhook-id, freshly signed); 409 while it is still pending. */
export async function replayMessage(args: {
  ctx: VerbContext;
  scope: Scope;
  endpointId: string;
  messageId: string;
}): Promise<MessageRow> {
  const { ctx, scope, endpointId, messageId } = args;
  const msg = await findMessage(ctx, scope, endpointId, messageId);
  if (msg.status === "pending" || msg.status === "held") {
    throw new ApiError("CONFLICT", `delivery ${messageId} is still ${msg.status}`);
  }
  await requeue(ctx, [msg]);
  return { ...msg, status: "pending" };
}

/** Every failed message of the endpoint since `since` (at most 1,000 per call). */
export async function replayFailedSince(args: {
  ctx: VerbContext;
  scope: Scope;
  endpointId: string;
  since: Date;
}): Promise<{ replayed: number }> {
  const { ctx, scope, endpointId, since } = args;
  await findEndpoint(ctx, scope, endpointId);
  const rows = await ctx.db
    .select({ id: webhookMessages.id, buildingId: webhookMessages.buildingId })
    .from(webhookMessages)
    .where(
      and(
        eq(webhookMessages.endpointId, endpointId),
        eq(webhookMessages.status, "failed"),
        gte(webhookMessages.createdAt, since),
      ),
    )
    .orderBy(webhookMessages.createdAt)
    .limit(1000);
  await requeue(ctx, rows);
  return { replayed: rows.length };
}

/** Sends a `ping` event to the endpoint (active or not: it is how an operator tests a fix). */
export async function pingEndpoint(args: { ctx: VerbContext; scope: Scope; endpointId: string }) {
  const { ctx, scope, endpointId } = args;
  const endpoint = await findEndpoint(ctx, scope, endpointId);
  const eventId = crypto.randomUUID();
  const body = webhookBody(PING_TYPE, ctx.now.toISOString(), {
    endpointId,
    message: "ping from Horizon",
  });
  return inTransaction(ctx, async (tx) => {
    const [msg] = await tx.db
      .insert(webhookMessages)
      .values({
        endpointId,
        buildingId: endpoint.buildingId,
        eventId,
        eventType: PING_TYPE,
        body,
        correlationId: tx.correlationId,
      })
      .returning();
    await recordEvents(tx.db, [
      { topic: DELIVER_TOPIC, buildingId: endpoint.buildingId, payload: { messageId: msg!.id, ping: true } },
    ]);
    return msg!;
  });
}

/** Success rate and last error over the last 24 hours of attempts, and the breaker's state. */
export async function endpointHealth(args: { ctx: VerbContext; scope: Scope; endpointId: string }) {
  const { ctx, scope, endpointId } = args;
  const endpoint = await findEndpoint(ctx, scope, endpointId);
  const since = new Date(ctx.now.getTime() - 24 * 3600 * 1000);
  const [counts] = await ctx.db
    .select({
      total: sql<number>`count(*)::int`,
      ok: sql<number>`count(*) filter (where ${webhookAttempts.statusCode} between 200 and 299)::int`,
    })
    .from(webhookAttempts)
    .where(and(eq(webhookAttempts.endpointId, endpointId), gte(webhookAttempts.createdAt, since)));
  const [lastError] = await ctx.db
    .select()
    .from(webhookAttempts)
    .where(
      and(
        eq(webhookAttempts.endpointId, endpointId),
        sql`(${webhookAttempts.statusCode} is null or ${webhookAttempts.statusCode} not between 200 and 299)`,
      ),
    )
    .orderBy(desc(webhookAttempts.createdAt))
    .limit(1);
  const breaker = await endpointBreaker(ctx.services, endpointId).status();
  const total = Number(counts?.total ?? 0);
  return {
    endpoint,
    attempts24h: total,
    successRate: total ? Number(counts?.ok ?? 0) / total : null,
    lastError: lastError ?? null,
    breaker,
  };
}
