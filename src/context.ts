/**
 * Per-request context carried through AsyncLocalStorage (Node, Bun, and Workers with
 * nodejs_compat), so adapters deep below a handler can add to the request's metrics and every
 * log line of a request carries its correlation id without threading it by hand.
 */
import { AsyncLocalStorage } from "node:async_hooks";

export interface RequestMetrics {
  dbQueries: number;
  dbMs: number;
  kvCalls: number;
  kvHits: number;
  kvMisses: number;
  kvMs: number;
}

export interface RequestContext {
  correlationId: string;
  metrics: RequestMetrics;
  /** Filled in by the auth middleware once the caller is known. */
  userId?: string;
  buildingId?: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

export function newMetrics(): RequestMetrics {
  return { dbQueries: 0, dbMs: 0, kvCalls: 0, kvHits: 0, kvMisses: 0, kvMs: 0 };
}

export function runWithContext<T>(ctx: RequestContext, fn: () => T): T {
  return storage.run(ctx, fn);
}

export function currentContext(): RequestContext | undefined {
  return storage.getStore();
}

/** Times one db round trip and adds it to the current request's metrics (if any). */
export async function measureDb<T>(fn: () => Promise<T>): Promise<T> {
  const ctx = storage.getStore();
  if (!ctx) return fn();
  const started = performance.now();
  try {
    return await fn();
  } finally {
    ctx.metrics.dbQueries += 1;
    ctx.metrics.dbMs += performance.now() - started;
  }
}

/** Starts timing one db round trip of the current request; call the result when it ends. */
export function startDbTimer(): () => void {
  const ctx = storage.getStore();
  if (!ctx) return () => {};
  const started = performance.now();
  return () => {
    ctx.metrics.dbQueries += 1;
    ctx.metrics.dbMs += performance.now() - started;
  };
}

/** Times one kv call; `hit` classifies reads (undefined for writes). */
export async function measureKv<T>(fn: () => Promise<T>, isRead = false): Promise<T> {
  const ctx = storage.getStore();
  if (!ctx) return fn();
  const started = performance.now();
  const result = await fn();
  ctx.metrics.kvCalls += 1;
  ctx.metrics.kvMs += performance.now() - started;
  if (isRead) {
    if (result === null || result === undefined) ctx.metrics.kvMisses += 1;
    else ctx.metrics.kvHits += 1;
  }
  return result;
}
