/**
 * Text PostgreSQL cannot store. A pushed op's rows travel to the database as JSON (for
 * json_to_recordset): a NUL (`\u0000`) is refused in text and jsonb, and a lone UTF-16 surrogate
 * is no character at all — either fails the whole statement, so one such string used to fail the
 * whole batch with a 500 on every retry. The push checks every string of an op (keys too) first
 * and refuses that op alone (INVALID_TEXT).
 */

/** A NUL, a high surrogate not followed by a low one, or a low surrogate not preceded by a high one. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding NUL is the point
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

type WellFormed = string & { isWellFormed?: () => boolean };
/** The runtime's own check where it has one (ES2024; every host we run on): several times the regex's speed. */
const native = typeof (String.prototype as WellFormed).isWellFormed === "function";

export const storableText = (s: string): boolean =>
  native ? (s as WellFormed).isWellFormed!() && !s.includes("\u0000") : !UNSTORABLE.test(s);

/** Does `value` (object keys included) hold a string that cannot be stored? Iterative: a pushed value may nest as deep as its body allows. */
function holdsUnstorable(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === "string") {
      if (!storableText(v)) return true;
    } else if (typeof v === "object" && v !== null) {
      if (Array.isArray(v)) {
        for (const x of v) stack.push(x);
      } else {
        for (const k in v) {
          if (!storableText(k)) return true;
          stack.push((v as Record<string, unknown>)[k]);
        }
      }
    }
  }
  return false;
}

/**
 * The path of the first string in `value` (object keys included) that cannot be stored, or null.
 * The path is worked out only for a value that holds one (the rare case).
 */
export function unstorableTextAt(value: unknown): string | null {
  if (!holdsUnstorable(value)) return null;
  const stack: Array<{ v: unknown; path: string }> = [{ v: value, path: "" }];
  while (stack.length) {
    const { v, path } = stack.pop()!;
    if (typeof v === "string") {
      if (!storableText(v)) return path || "value";
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], path: `${path}[${i}]` });
    } else if (typeof v === "object" && v !== null) {
      for (const [k, x] of Object.entries(v)) {
        // The key itself is not echoed: it is the unstorable text.
        if (!storableText(k)) return path ? `${path} (a key)` : "a key";
        stack.push({ v: x, path: path ? `${path}.${k}` : k });
      }
    }
  }
  return "value";
}
