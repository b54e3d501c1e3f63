import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLogs, refreshTokens, users } from "../../../src/db/schema";
import { createTestApp, type TestApp } from "../../support/app";
import { DB_KINDS } from "../../support/db";
import { json } from "../../support/fixtures";
import { bearer, GOOD_PASSWORD, refreshWith, signIn, signUp, uniqueEmail } from "./helpers";

const mutableClock = () => {
  let offsetMs = 0;
  return { now: () => new Date(Date.now() + offsetMs), advance: (ms: number) => (offsetMs += ms) };
};

describe.each(DB_KINDS)("accounts and sessions on %s", (kind) => {
  let t: TestApp;
  const clock = mutableClock();
  beforeAll(async () => {
    t = await createTestApp({
      db: kind,
      clock,
      env: { LOGIN_MAX_PER_IP: "1000", RATE_LIMIT_ENABLED: "false" },
    });
  });
  afterAll(() => t.close());
  const db = () => t.services.database.db;
  const auditOf = (action: string, entityId: string) =>
    db()
      .select()
      .from(auditLogs)
      .where(and(eq(auditLogs.action, action), eq(auditLogs.entityId, entityId)));

  it("registers an account, never returning the hash, and audits it", async () => {
    const email = uniqueEmail("reg");
    const res = await t.request(
      "/api/v1/auth/register",
      json({
        email,
        password: GOOD_PASSWORD,
        name: "Noa",
        phone: "+972501234567",
        locale: "he",
        timezone: "asia/jerusalem",
      }),
    );
    expect(res.status).toBe(201);
    const body = await res.json();
    expect(body).toMatchObject({
      email: email.toLowerCase(),
      name: "Noa",
      phone: "+972501234567",
      locale: "he",
      timezone: "Asia/Jerusalem",
      isPlatformAdmin: false,
    });
    expect(JSON.stringify(body)).not.toMatch(/argon2|password/i);
    const [row] = await db().select().from(users).where(eq(users.id, body.id));
    expect(row!.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    const audit = await auditOf("user.register", body.id);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      scope: "platform",
      userId: body.id,
      entityType: "user",
      ipAddress: "203.0.113.7",
    });
    expect(JSON.stringify(audit[0]!.changes)).not.toContain(GOOD_PASSWORD);
  });

  it("refuses a second account with the same email in any letter case (409)", async () => {
    const a = await signUp(t);
    const res = await t.request(
      "/api/v1/auth/register",
      json({ email: a.email.toUpperCase(), password: GOOD_PASSWORD, name: "X" }),
    );
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ code: "ALREADY_EXISTS" });
  });

  it("lists every unmet password rule (WEAK_PASSWORD)", async () => {
    const res = await t.request(
      "/api/v1/auth/register",
      json({ email: uniqueEmail(), password: "short", name: "X" }),
    );
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const body = await res.json();
    expect(body.code).toBe("WEAK_PASSWORD");
    expect(body.errors.map((e: { code: string }) => e.code).sort()).toEqual([
      "digit",
      "min_length",
      "symbol",
      "uppercase",
    ]);
  });

  it("rejects wrong types, unknown fields, control characters and bad zones with field errors", async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ email: 42, password: GOOD_PASSWORD, name: "X" }, "json.email"],
      [{ email: uniqueEmail(), password: GOOD_PASSWORD, name: "X", isPlatformAdmin: true }, "json"],
      [{ email: uniqueEmail(), password: GOOD_PASSWORD, name: "X\u0000Y" }, "json.name"],
      [
        { email: uniqueEmail(), password: GOOD_PASSWORD, name: "X", timezone: "Mars/Olympus" },
        "json.timezone",
      ],
      [{ email: uniqueEmail(), password: GOOD_PASSWORD, name: "X", locale: "fr" }, "json.locale"],
    ];
    for (const [body, path] of cases) {
      const res = await t.request("/api/v1/auth/register", json(body));
      expect(res.status, JSON.stringify(body)).toBe(400);
      const problem = await res.json();
      expect(problem.code).toBe("VALIDATION_FAILED");
      expect(problem.errors.some((e: { path: string }) => e.path.startsWith(path))).toBe(true);
    }
    const count = await db()
      .select({ n: sql<number>`count(*)::int` })
      .from(users)
      .where(sql`${users.name} like 'X%'`);
    expect(count[0]!.n).toBe(0);
  });

  it("answers a 10 MB string with 413 before reading it all", async () => {
    const res = await t.request(
      "/api/v1/auth/register",
      json({ email: uniqueEmail(), password: GOOD_PASSWORD, name: "x".repeat(10 * 1024 * 1024) }),
    );
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ code: "PAYLOAD_TOO_LARGE" });
  });

  it("signs in, serves /me with the access token, and audits the login", async () => {
    const a = await signUp(t);
    const s = await signIn(t, { email: a.email.toUpperCase(), password: a.password });
    expect(s.expiresIn).toBe(900);
    expect(s.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const me = await t.request("/api/v1/me", { headers: bearer(s.accessToken) });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ id: a.id, email: a.email.toLowerCase() });
    expect(await auditOf("auth.login", a.id)).toHaveLength(1);
    const [stored] = await db().select().from(refreshTokens).where(eq(refreshTokens.userId, a.id));
    expect(stored!.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(stored!.tokenHash).not.toBe(s.refreshToken);
  });

  it("expires an access token on time, though its verification is remembered, and refuses a forged twin", async () => {
    const a = await signUp(t);
    const s = await signIn(t, a);
    const me = () => t.request("/api/v1/me", { headers: bearer(s.accessToken) });
    expect((await me()).status).toBe(200);
    expect((await me()).status).toBe(200); // the remembered verification
    const [head, payload, signature] = s.accessToken.split(".");
    const flipped = signature!.startsWith("A") ? `B${signature!.slice(1)}` : `A${signature!.slice(1)}`;
    const forged = await t.request("/api/v1/me", { headers: bearer(`${head}.${payload}.${flipped}`) });
    expect(forged.status).toBe(401);
    expect(await forged.json()).toMatchObject({ code: "UNAUTHENTICATED" });
    clock.advance(s.expiresIn * 1000);
    try {
      const res = await me();
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ code: "TOKEN_EXPIRED" });
    } finally {
      clock.advance(-s.expiresIn * 1000);
    }
  });
  it("answers a wrong password and an unknown email alike (401 INVALID_CREDENTIALS), auditing both", async () => {
    const a = await signUp(t);
    const wrong = await t.request(
      "/api/v1/auth/login",
      json({ email: a.email, password: "Wrong-Password-1" }),
    );
    const unknown = await t.request(
      "/api/v1/auth/login",
      json({ email: uniqueEmail("nobody"), password: "Wrong-Password-1" }),
    );
    const [w, u] = [await wrong.json(), await unknown.json()];
    expect([wrong.status, unknown.status]).toEqual([401, 401]);
    expect(w.code).toBe("INVALID_CREDENTIALS");
    expect({ ...w, correlationId: "", instance: "" }).toEqual({ ...u, correlationId: "", instance: "" });
    const failed = await auditOf("auth.login_failed", a.id);
    expect(failed).toHaveLength(1);
    expect(failed[0]!.changes).toEqual({ email: a.email.toLowerCase(), reason: "bad_password" });
  });

  it("rotates the refresh token on every use", async () => {
    const a = await signUp(t);
    const s1 = await signIn(t, a);
    const r1 = await refreshWith(t, s1.refreshToken);
    expect(r1.status).toBe(200);
    const s2 = await r1.json();
    expect(s2.refreshToken).not.toBe(s1.refreshToken);
    expect((await t.request("/api/v1/me", { headers: bearer(s2.accessToken) })).status).toBe(200);
    const r2 = await refreshWith(t, s2.refreshToken);
    expect(r2.status).toBe(200);
  });

  it("revokes the whole family when a rotated token is replayed, and audits the theft", async () => {
    const a = await signUp(t);
    const s1 = await signIn(t, a);
    const s2 = await (await refreshWith(t, s1.refreshToken)).json();
    const replay = await refreshWith(t, s1.refreshToken, "198.51.100.9");
    expect(replay.status).toBe(401);
    expect(await replay.json()).toMatchObject({ code: "UNAUTHENTICATED" });
    // The legitimate successor is revoked too: both parties must sign in again.
    const successor = await refreshWith(t, s2.refreshToken);
    expect(successor.status).toBe(401);
    const rows = await db().select().from(refreshTokens).where(eq(refreshTokens.userId, a.id));
    expect(rows.every((r) => r.revokedAt !== null)).toBe(true);
    const audit = await db()
      .select()
      .from(auditLogs)
      .where(and(eq(auditLogs.action, "auth.refresh_reuse"), eq(auditLogs.userId, a.id)));
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ ipAddress: "198.51.100.9", entityType: "refresh_token_family" });
  });

  it("lets exactly one of two concurrent uses of a token win", async () => {
    const a = await signUp(t);
    const s = await signIn(t, a);
    const [r1, r2] = await Promise.all([refreshWith(t, s.refreshToken), refreshWith(t, s.refreshToken)]);
    expect([r1.status, r2.status].sort()).toEqual([200, 401]);
  });

  it("logs out by revoking the family; logout is idempotent", async () => {
    const a = await signUp(t);
    const s = await signIn(t, a);
    const out = await t.request("/api/v1/auth/logout", json({ refreshToken: s.refreshToken }));
    expect(out.status).toBe(204);
    expect((await refreshWith(t, s.refreshToken)).status).toBe(401);
    expect((await t.request("/api/v1/auth/logout", json({ refreshToken: s.refreshToken }))).status).toBe(204);
    expect((await t.request("/api/v1/auth/logout", json({ refreshToken: "x".repeat(43) }))).status).toBe(204);
    expect(
      await db()
        .select()
        .from(auditLogs)
        .where(and(eq(auditLogs.action, "auth.logout"), eq(auditLogs.userId, a.id))),
    ).toHaveLength(1);
  });

  it("refuses an expired refresh token (401 TOKEN_EXPIRED)", async () => {
    const a = await signUp(t);
    const s = await signIn(t, a);
    clock.advance(t.services.config.REFRESH_TOKEN_TTL_SECONDS * 1000 + 1000);
    try {
      const res = await refreshWith(t, s.refreshToken);
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ code: "TOKEN_EXPIRED" });
    } finally {
      clock.advance(-(t.services.config.REFRESH_TOKEN_TTL_SECONDS * 1000 + 1000));
    }
  });

  it("keeps restricted and deleted users out of login and refresh", async () => {
    const restricted = await signUp(t);
    const deleted = await signUp(t);
    const sr = await signIn(t, restricted);
    const sd = await signIn(t, deleted);
    await db().update(users).set({ status: "restricted" }).where(eq(users.id, restricted.id));
    await db()
      .update(users)
      .set({ status: "deleted", deletedAt: new Date() })
      .where(eq(users.id, deleted.id));
    const lr = await t.request(
      "/api/v1/auth/login",
      json({ email: restricted.email, password: restricted.password }),
    );
    expect(lr.status).toBe(403);
    const ld = await t.request(
      "/api/v1/auth/login",
      json({ email: deleted.email, password: deleted.password }),
    );
    expect(ld.status).toBe(401);
    expect(await ld.json()).toMatchObject({ code: "INVALID_CREDENTIALS" });
    expect((await refreshWith(t, sr.refreshToken)).status).toBe(401);
    expect((await refreshWith(t, sd.refreshToken)).status).toBe(401);
    expect((await t.request("/api/v1/me", { headers: bearer(sd.accessToken) })).status).toBe(401);
  });

  it("rejects malformed refresh bodies precisely", async () => {
    const wrongType = await t.request("/api/v1/auth/refresh", json({ refreshToken: 12 }));
    expect(wrongType.status).toBe(400);
    const extra = await t.request(
      "/api/v1/auth/refresh",
      json({ refreshToken: "a".repeat(43), userId: "x" }),
    );
    expect(extra.status).toBe(400);
    expect((await extra.json()).detail).toContain("unknown fields");
    const garbage = await refreshWith(t, "not-a-token");
    expect(garbage.status).toBe(401);
  });
});
