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

export const storableText = (s: string): boolean => !UNSTORABLE.test(s);

/**
 * The path of the first string in `value` (object keys included) that cannot be stored, or null.
 * Walks iteratively: a pushed value may nest as deep as its JSON body allows.
 */
export function unstorableTextAt(value: unknown): string | null {
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
  return null;
}
