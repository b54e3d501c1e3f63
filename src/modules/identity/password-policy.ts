/**
 * Password policy (design property 34): at least 12 characters with an upper-case letter, a
 * lower-case letter, a digit and a symbol. `checkPasswordPolicy` lists every unmet rule, so the
 * client can show them all at once; `assertPasswordPolicy` turns them into 400 WEAK_PASSWORD.
 * Letters are Unicode-aware (`\p{Lu}`, `\p{Ll}`), so "Ä" counts as upper case; a symbol is any
 * character that is neither a letter, a digit nor white space.
 */
import { ApiError } from "../../errors";

export const PASSWORD_MIN_LENGTH = 12;
/** argon2 takes any length, but an unbounded input is a cheap way to burn CPU. */
export const PASSWORD_MAX_LENGTH = 256;

export type PasswordRule = "min_length" | "max_length" | "uppercase" | "lowercase" | "digit" | "symbol";

export const PASSWORD_RULE_MESSAGES: Record<PasswordRule, string> = {
  min_length: `must be at least ${PASSWORD_MIN_LENGTH} characters long`,
  max_length: `must be at most ${PASSWORD_MAX_LENGTH} characters long`,
  uppercase: "must contain an upper-case letter",
  lowercase: "must contain a lower-case letter",
  digit: "must contain a digit",
  symbol: "must contain a symbol (a character that is not a letter, digit or space)",
};

const RULES: Array<[PasswordRule, (pw: string) => boolean]> = [
  // Length counts code points, so an emoji is one character, as the user sees it.
  ["min_length", (pw) => [...pw].length >= PASSWORD_MIN_LENGTH],
  ["max_length", (pw) => [...pw].length <= PASSWORD_MAX_LENGTH],
  ["uppercase", (pw) => /\p{Lu}/u.test(pw)],
  ["lowercase", (pw) => /\p{Ll}/u.test(pw)],
  ["digit", (pw) => /\p{Nd}/u.test(pw)],
  ["symbol", (pw) => /[^\p{L}\p{N}\s]/u.test(pw)],
];

/** The rules `password` does not meet, in a stable order; empty when it is acceptable. */
export function checkPasswordPolicy(password: string): PasswordRule[] {
  return RULES.filter(([, ok]) => !ok(password)).map(([rule]) => rule);
}

/** Throws 400 WEAK_PASSWORD with one `errors` entry per unmet rule. */
export function assertPasswordPolicy(password: string, path = "json.password"): void {
  const unmet = checkPasswordPolicy(password);
  if (unmet.length === 0) return;
  throw new ApiError("WEAK_PASSWORD", `the password does not meet the policy: ${unmet.join(", ")}`, {
    errors: unmet.map((rule) => ({ path, message: PASSWORD_RULE_MESSAGES[rule], code: rule })),
  });
}
