/** Dependency-free JSON-lines logger (Workers console, tests). Same field names as the pino adapter. */
import type { LogLevel } from "../../config";
import { currentContext } from "../../context";
import { LEVELS, type Level, type LogFn, type Logger } from "./index";

export type LineSink = (line: string) => void;

export function createJsonLogger(
  options: { level: LogLevel; sink?: LineSink; bindings?: Record<string, unknown> } = { level: "info" },
): Logger {
  const sink = options.sink ?? ((line: string) => console.log(line));
  const bindings = options.bindings ?? {};
  const threshold = LEVELS[options.level];

  // Lines are assembled as strings: the bindings are serialized once per logger, and each call
  // serializes only its own fields (this runs twice per request). Later members win on a
  // repeated name when parsed, which keeps the object-spread order: level, time, bindings,
  // correlationId, fields, msg.
  const bound = JSON.stringify(bindings);
  const boundMembers = bound === "{}" ? "" : `,${bound.slice(1, -1)}`;
  const write =
    (level: Level): LogFn =>
    (objOrMsg, msg) => {
      if (LEVELS[level] < threshold) return;
      const message = typeof objOrMsg === "string" ? objOrMsg : msg;
      const ctx = currentContext();
      let line = `{"level":"${level}","time":"${new Date().toISOString()}"${boundMembers}`;
      if (ctx) line += `,"correlationId":${JSON.stringify(ctx.correlationId)}`;
      if (typeof objOrMsg !== "string") {
        const fields = safeStringify(hasError(objOrMsg) ? serializeErrors(objOrMsg) : objOrMsg);
        if (fields.length > 2) line += `,${fields.slice(1, -1)}`;
      }
      if (message !== undefined) line += `,"msg":${JSON.stringify(message)}`;
      sink(`${line}}`);
    };

  return {
    level: options.level,
    isLevelEnabled: (level) => LEVELS[level] >= threshold,
    child: (more) => createJsonLogger({ level: options.level, sink, bindings: { ...bindings, ...more } }),
    trace: write("trace"),
    debug: write("debug"),
    info: write("info"),
    warn: write("warn"),
    error: write("error"),
    fatal: write("fatal"),
  };
}

function hasError(fields: Record<string, unknown>): boolean {
  for (const k in fields) if (fields[k] instanceof Error) return true;
  return false;
}

function serializeErrors(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    out[k] = v instanceof Error ? { type: v.name, message: v.message, stack: v.stack } : v;
  }
  return out;
}

function safeStringify(value: unknown): string {
  // The fast path is plain JSON.stringify; only lines with cycles or bigints take the slow one.
  try {
    return JSON.stringify(value);
  } catch {
    return guardedStringify(value);
  }
}

function guardedStringify(value: unknown): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(value, (_k, v) => {
    if (typeof v === "bigint") return v.toString();
    if (v && typeof v === "object") {
      if (seen.has(v)) return "[Circular]";
      seen.add(v);
    }
    return v;
  });
}
