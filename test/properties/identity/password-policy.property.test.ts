import { eq, sql } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { users } from "../../../src/db/schema";
import { checkPasswordPolicy, type PasswordRule } from "../../../src/modules/identity/password-policy";
import { createTestApp, type TestApp } from "../../support/app";
import { json } from "../../support/fixtures";

const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÉΩЖ";
const LOWER = "abcdefghijklmnopqrstuvwxyzäéωж";
const DIGITS = "0123456789٣";
const SYMBOLS = "!@#$%^&*()-_=+[]{};:'\",.<>/?\\|`~€😀";

/** A password built from counted character classes, and the rules the model says it breaks. */
const classified = fc
  .record({
    upper: fc.array(fc.constantFrom(...UPPER), { maxLength: 6 }),
    lower: fc.array(fc.constantFrom(...LOWER), { maxLength: 10 }),
    digit: fc.array(fc.constantFrom(...DIGITS), { maxLength: 6 }),
    symbol: fc.array(fc.constantFrom(...[...SYMBOLS]), { maxLength: 6 }),
    space: fc.array(fc.constant(" "), { maxLength: 3 }),
    seed: fc.integer(),
  })
  .map(({ seed, ...parts }) => {
    const chars = Object.values(parts).flat();
    // Deterministic shuffle: rule checks must not depend on where a character sits.
    let s = seed;
    for (let i = chars.length - 1; i > 0; i--) {
      s = (s * 1103515245 + 12345) & 0x7fffffff;
      const j = s % (i + 1);
      [chars[i], chars[j]] = [chars[j]!, chars[i]!];
    }
    const expected: PasswordRule[] = [];
    if (chars.length < 12) expected.push("min_length");
    if (parts.upper.length === 0) expected.push("uppercase");
    if (parts.lower.length === 0) expected.push("lowercase");
    if (parts.digit.length === 0) expected.push("digit");
    if (parts.symbol.length === 0) expected.push("symbol");
    return { password: chars.join(""), expected };
  });

describe("password policy", () => {
  it("Property 34: Password policy enforcement — a password is rejected exactly when it breaks a rule, and every broken rule is listed", () => {
    fc.assert(
      fc.property(classified, ({ password, expected }) => {
        expect(checkPasswordPolicy(password).sort()).toEqual(expected.sort());
      }),
      { numRuns: 300 },
    );
  });

  it("Property 34: Password policy enforcement — any string missing a required class or too short is rejected", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 40 }), (pw) => {
        const unmet = checkPasswordPolicy(pw);
        const tooShort = [...pw].length < 12;
        const noDigit = !/[0-9]/.test(pw) && !/\p{Nd}/u.test(pw);
        if (tooShort) expect(unmet).toContain("min_length");
        if (noDigit) expect(unmet).toContain("digit");
        if (pw === pw.toLowerCase() && !/\p{Lu}/u.test(pw)) expect(unmet).toContain("uppercase");
        expect(new Set(unmet).size).toBe(unmet.length);
      }),
      { numRuns: 300 },
    );
  });
});

describe("password policy through POST /auth/register", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ db: "pglite", env: { RATE_LIMIT_ENABLED: "false" } });
  });
  afterAll(() => t.close());

  it("answers every weak password with 400 WEAK_PASSWORD listing the unmet rules, and creates nothing", async () => {
    const weak = fc.sample(
      classified.filter((c) => c.expected.length > 0),
      { numRuns: 25, seed: 34 },
    );
    weak.push({ password: "", expected: ["min_length", "uppercase", "lowercase", "digit", "symbol"] });
    for (const [i, { password, expected }] of weak.entries()) {
      const email = `weak-${Date.now().toString(36)}-${i}@example.test`;
      const res = await t.request("/api/v1/auth/register", json({ email, password, name: "Weak" }));
      expect(res.status, password).toBe(400);
      const body = await res.json();
      expect(body.code).toBe("WEAK_PASSWORD");
      expect(body.errors.map((e: { code: string }) => e.code).sort()).toEqual([...expected].sort());
      expect(body.errors.every((e: { path: string }) => e.path === "json.password")).toBe(true);
      expect(await t.services.database.db.select().from(users).where(eq(users.email, email))).toHaveLength(0);
    }
  });

  it("accepts strong passwords", async () => {
    const strong = fc.sample(
      classified.filter((c) => c.expected.length === 0),
      { numRuns: 3, seed: 340 },
    );
    for (const [i, { password }] of strong.entries()) {
      const email = `strong-${Date.now().toString(36)}-${i}@example.test`;
      const res = await t.request("/api/v1/auth/register", json({ email, password, name: "Strong" }));
      expect(res.status, password).toBe(201);
    }
    const [row] = await t.services.database.db
      .select({ n: sql<number>`count(*)::int` })
      .from(users)
      .where(sql`${users.email} like 'strong-%'`);
    expect(row!.n).toBe(3);
  });
});
