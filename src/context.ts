/**
 * Per-request context carried through AsyncLocalStorage (Node, Bun, and Workers with
 * nodejs_compat), so adapters deep below a handler can add to the request's metrics and every
 * log line of a request carries its correlation id without threading it by hand.
 *
 * The process has one AsyncLocalStorage, and what a module keeps in it is a slot of its own
 * (`scopedValue`): on Node every enabled storage adds a property and a hook call to every promise
 * the process creates, whichever code creates it — about 75 ns and 130 bytes per promise each,
 * and a request creates over a hundred promises.
 */
import { AsyncLocalStorage } from "node:async_hooks";

/** The slots in scope: a new object per `run`, keyed by each slot's symbol. */
type Slots = Readonly<Record<symbol, unknown>>;
const storage = new AsyncLocalStorage<Slots>();

/** A value scoped to an async call tree, kept in the one AsyncLocalStorage next to other slots. */
export interface ScopedValue<T> {
  /** The value of the innermost `run` around the caller, if any. */
  get(): T | undefined;
  /** Runs `fn` with this slot set to `value`, every other slot kept. */
  run<R>(value: T, fn: () => R): R;
}

export function scopedValue<T>(name: string): ScopedValue<T> {
  const key = Symbol(name);
  return {
    get: () => storage.getStore()?.[key] as T | undefined,
    run: (value, fn) => storage.run({ ...storage.getStore(), [key]: value }, fn),
  };
}

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

const request = scopedValue<RequestContext>("horizon.request");

export function newMetrics(): RequestMetrics {
  return { dbQueries: 0, dbMs: 0, kvCalls: 0, kvHits: 0, kvMisses: 0, kvMs: 0 };
}

export function runWithContext<T>(ctx: RequestContext, fn: () => T): T {
  return request.run(ctx, fn);
}

export function currentContext(): RequestContext | undefined {
  return request.get();
}

/** Times one db round trip and adds it to the current request's metrics (if any). */
export async function measureDb<T>(fn: () => Promise<T>): Promise<T> {
  const ctx = request.get();
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
  const ctx = request.get();
  if (!ctx) return () => {};
  const started = performance.now();
  return () => {
    ctx.metrics.dbQueries += 1;
    ctx.metrics.dbMs += performance.now() - started;
  };
}

/** Times one kv call; `hit` classifies reads (undefined for writes). */
export async function measureKv<T>(fn: () => Promise<T>, isRead = false): Promise<T> {
  const ctx = request.get();
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
