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

  const write =
    (level: Level): LogFn =>
    (objOrMsg, msg) => {
      if (LEVELS[level] < threshold) return;
      const fields = typeof objOrMsg === "string" ? {} : objOrMsg;
      const message = typeof objOrMsg === "string" ? objOrMsg : msg;
      const ctx = currentContext();
      const line: Record<string, unknown> = {
        level,
        time: new Date().toISOString(),
        ...bindings,
        ...(ctx ? { correlationId: ctx.correlationId } : {}),
        ...serializeErrors(fields),
      };
      if (message !== undefined) line.msg = message;
      sink(safeStringify(line));
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
