/**
 * The logger port: JSON lines with child bindings and level filtering. Adapters: pino (Bun and
 * Node) and a dependency-free JSON writer (Workers, tests). Every line written while a request is
 * in flight carries its correlation id, taken from the request context.
 *
 * One access line per request (decision, issue 19): the HTTP layer writes a single `event:
 * "access"` line when the response is ready, carrying the request's fields (method, path, user
 * agent, IP) and the response's (status, duration, bytes, db/kv metrics), as pino-http's "request
 * completed" line does. Design properties 1 and 2 (a request entry and a response entry with their
 * fields) hold on that one line; two lines per request were a quarter of the middleware stack's
 * cost on Node. The price: a request whose process dies before it answers leaves no line (its
 * error line, property 4, is still written first when a handler throws). See src/http/request-log.ts.
 */
import type { LogLevel } from "../../config";

export type Level = Exclude<LogLevel, "silent">;
export const LEVELS: Record<LogLevel, number> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Number.POSITIVE_INFINITY,
};

export type LogFn = (objOrMsg: Record<string, unknown> | string, msg?: string) => void;

export interface Logger {
  readonly level: LogLevel;
  child(bindings: Record<string, unknown>): Logger;
  isLevelEnabled(level: Level): boolean;
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
}

const SECRET_KEY = /pass(word)?|secret|token|authorization|cookie|api[-_]?key|signature|credential/i;
export const REDACTED = "[REDACTED]";

/** Deep copy with every secret-looking member replaced, for logging bodies and headers. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8) return "[TRUNCATED]";
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => redact(v, depth + 1));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) ? REDACTED : redact(v, depth + 1);
    return out;
  }
  if (typeof value === "string" && value.length > 2048)
    return `${value.slice(0, 2048)}…[${value.length} chars]`;
  return value;
}
