/**
 * Outbox handlers by topic. A module registers the handler of each topic it owns (realtime
 * pokes, sync conflicts, later notifications, webhooks, files); the dispatcher and the QStash
 * consumer look handlers up here and call the same function. An event whose topic has no
 * handler is dead at once with that reason, never retried forever.
 */
import type { z } from "zod";
import type { VerbContext } from "../../verbs";

/** Who runs a handler, for logs and the audit trail: the in-process loop or a QStash callback. */
export type JobActor =
  | { kind: "system"; name: "outbox-dispatcher" }
  | { kind: "job"; name: "qstash-consumer" };

export interface OutboxEventRow {
  id: string;
  topic: string;
  buildingId: string | null;
  payload: unknown;
  correlationId: string;
  /** This attempt's number, 1 for the first. */
  attempts: number;
  createdAt: Date;
}

/** A verb context for a handler: no user, the job as actor, the event's correlation id. */
export interface OutboxHandlerContext extends VerbContext {
  job: JobActor;
  event: OutboxEventRow;
}

export interface OutboxHandler<P = unknown> {
  /** Checked before `handle`; a payload it refuses is poison: dead at once, not retried. */
  payload?: z.ZodType<P>;
  handle(payload: P, ctx: OutboxHandlerContext): Promise<void>;
}

/** Thrown by a handler for a failure no retry can fix: the event is dead at once. */
export class PermanentDeliveryError extends Error {
  override name = "PermanentDeliveryError";
}

export class HandlerRegistry {
  readonly #handlers = new Map<string, OutboxHandler>();

  /** Registers the handler of `topic`; answers a function that removes it. */
  register<P>(topic: string, handler: OutboxHandler<P>): () => void {
    if (this.#handlers.has(topic)) throw new Error(`an outbox handler for ${topic} is already registered`);
    this.#handlers.set(topic, handler as OutboxHandler);
    return () => {
      if (this.#handlers.get(topic) === (handler as OutboxHandler)) this.#handlers.delete(topic);
    };
  }

  get(topic: string): OutboxHandler | undefined {
    return this.#handlers.get(topic);
  }

  topics(): string[] {
    return [...this.#handlers.keys()];
  }
}

/** The process's registry: modules register into it when they load. */
export const outboxHandlers = new HandlerRegistry();
