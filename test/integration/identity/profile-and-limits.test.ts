import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLogs, users } from "../../../src/db/schema";
import { AdminBootstrapError, ensurePlatformAdmin } from "../../../src/modules/identity/admin-bootstrap";
import { createTestApp, type TestApp } from "../../support/app";
import { DB_KINDS } from "../../support/db";
import { json } from "../../support/fixtures";
import { bearer, GOOD_PASSWORD, refreshWith, signIn, signUp, uniqueEmail } from "./helpers";

const patch = (body: unknown, token: string): RequestInit => ({
  method: "PATCH",
  headers: { "content-type": "application/json", ...bearer(token) },
  body: JSON.stringify(body),
});

describe.each(DB_KINDS)("profile, login limits, logs and bootstrap on %s", (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    // debug: failed requests log their (redacted) bodies too, so the secrets scan sees them.
    t = await createTestApp({
      db: kind,
      env: {
        LOG_LEVEL: "debug",
        RATE_LIMIT_ENABLED: "false",
        LOGIN_MAX_PER_ACCOUNT: "3",
        LOGIN_MAX_PER_IP: "8",
      },
    });
  });
  afterAll(() => t.close());
  const db = () => t.services.database.db;

  it("updates the profile and audits only what changed, as user.update", async () => {
    const a = await signUp(t, {}, "192.0.2.10");
    const s = await signIn(t, a, "192.0.2.10");
    const res = await t.request(
      "/api/v1/me",
      patch(
        { name: "Dana L.", timezone: "Europe/London", phone: "+442071234567", locale: "en" },
        s.accessToken,
      ),
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      name: "Dana L.",
      timezone: "Europe/London",
      phone: "+442071234567",
    });
    const [row] = await db()
      .select()
      .from(auditLogs)
      .where(and(eq(auditLogs.action, "user.update"), eq(auditLogs.entityId, a.id)));
    expect(row!.changes).toEqual({
      before: { name: "Dana Levi", timezone: "UTC", phone: null },
      after: { name: "Dana L.", timezone: "Europe/London", phone: "+442071234567" },
    });
    expect(row!.userId).toBe(a.id);
    const cleared = await t.request("/api/v1/me", patch({ phone: null }, s.accessToken));
    expect((await cleared.json()).phone).toBeNull();
  });

  it("refuses bad profile patches precisely and changes nothing", async () => {
    const a = await signUp(t, {}, "192.0.2.11");
    const b = await signUp(t, {}, "192.0.2.11");
    const s = await signIn(t, a, "192.0.2.11");
    const cases: Array<[unknown, number, string]> = [
      [{ password: "Another-Pass-123" }, 400, "VALIDATION_FAILED"],
      [{ isPlatformAdmin: true }, 400, "VALIDATION_FAILED"],
      [{}, 400, "VALIDATION_FAILED"],
      [{ timezone: "Not/AZone" }, 400, "VALIDATION_FAILED"],
      [{ name: 7 }, 400, "VALIDATION_FAILED"],
      [{ email: b.email.toUpperCase() }, 409, "ALREADY_EXISTS"],
    ];
    for (const [body, status, code] of cases) {
      const res = await t.request("/api/v1/me", patch(body, s.accessToken));
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect((await res.json()).code).toBe(code);
    }
    const [row] = await db().select().from(users).where(eq(users.id, a.id));
    expect(row).toMatchObject({ email: a.email.toLowerCase(), isPlatformAdmin: false, name: "Dana Levi" });
    expect(
      await db()
        .select()
        .from(auditLogs)
        .where(and(eq(auditLogs.action, "user.update"), eq(auditLogs.entityId, a.id))),
    ).toHaveLength(0);
  });

  it("limits failed logins per account: 429 with Retry-After, even with the right password", async () => {
    const a = await signUp(t, {}, "192.0.2.20");
    for (let i = 0; i < 3; i++) {
      const res = await t.request(
        "/api/v1/auth/login",
        json({ email: a.email, password: "Wrong-Password-1" }),
        `192.0.2.${30 + i}`,
      );
      expect(res.status).toBe(401);
    }
    const res = await t.request(
      "/api/v1/auth/login",
      json({ email: a.email, password: a.password }),
      "192.0.2.40",
    );
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(Number(res.headers.get("retry-after"))).toBeLessThanOrEqual(900);
    expect(await res.json()).toMatchObject({ code: "RATE_LIMITED" });
  });

  it("clears the account counter on success, and limits per IP across accounts", async () => {
    const a = await signUp(t, {}, "192.0.2.50");
    const ip = "198.51.100.77";
    await t.request("/api/v1/auth/login", json({ email: a.email, password: "Wrong-Password-1" }), ip);
    await t.request("/api/v1/auth/login", json({ email: a.email, password: "Wrong-Password-1" }), ip);
    await signIn(t, a, ip);
    // Account counter was cleared: two more failures and a success still pass.
    await t.request("/api/v1/auth/login", json({ email: a.email, password: "Wrong-Password-1" }), ip);
    await t.request("/api/v1/auth/login", json({ email: a.email, password: "Wrong-Password-1" }), ip);
    await signIn(t, a, ip);
    // 6 attempts so far from this IP; 2 more reach the IP limit of 8, then 429 for anyone.
    await t.request("/api/v1/auth/login", json({ email: uniqueEmail(), password: "x" }), ip);
    await t.request("/api/v1/auth/login", json({ email: uniqueEmail(), password: "x" }), ip);
    const blocked = await t.request("/api/v1/auth/login", json({ email: a.email, password: a.password }), ip);
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get("retry-after")).toMatch(/^\d+$/);
  });

  it("never writes passwords, tokens or hashes to a log line", async () => {
    const password = "Sekrit-Unique-Pass-42!";
    const a = await signUp(t, { password }, "192.0.2.60");
    const s = await signIn(t, a, "192.0.2.60");
    const r = await (await refreshWith(t, s.refreshToken, "192.0.2.60")).json();
    await refreshWith(t, s.refreshToken, "192.0.2.60"); // replay: warns
    await t.request("/api/v1/auth/login", json({ email: a.email, password: `${password}x` }), "192.0.2.61");
    await t.request("/api/v1/auth/register", json({ email: a.email, password, name: "again" }), "192.0.2.61");
    await t.request("/api/v1/me", { headers: bearer(s.accessToken) }, "192.0.2.61");
    await t.request("/api/v1/auth/logout", json({ refreshToken: r.refreshToken }), "192.0.2.61");
    const [row] = await db().select({ hash: users.passwordHash }).from(users).where(eq(users.id, a.id));
    const logs = JSON.stringify(t.logs);
    expect(t.logs.some((l) => l.event === "refresh_token_reuse")).toBe(true);
    expect(t.logs.some((l) => l.event === "error" && l.code === "ALREADY_EXISTS")).toBe(true);
    for (const secret of [
      password,
      s.accessToken,
      s.refreshToken,
      r.refreshToken,
      r.accessToken,
      row!.hash,
    ]) {
      expect(logs).not.toContain(secret);
    }
    expect(logs).not.toContain(row!.hash.split("$").pop()!);
  });

  it("leaves no half-written account when the audit insert fails inside the transaction", async () => {
    const email = uniqueEmail("rollback");
    // A real database failure on the audit insert of this one email (not a mock of our code).
    const fn = `fail_audit_${kind}_${Date.now()}`;
    await db().execute(
      sql.raw(`create function ${fn}() returns trigger language plpgsql as $$ begin
        if new.changes->'after'->>'email' = '${email.toLowerCase()}' then raise exception 'audit store unavailable'; end if;
        return new; end $$`),
    );
    await db().execute(
      sql.raw(`create trigger ${fn} before insert on audit_logs for each row execute function ${fn}()`),
    );
    try {
      const res = await t.request(
        "/api/v1/auth/register",
        json({ email, password: GOOD_PASSWORD, name: "Rollback" }),
        "192.0.2.70",
      );
      expect(res.status).toBe(500);
      const body = await res.json();
      expect(body.detail).not.toContain("audit store unavailable");
      const rows = await db().select().from(users).where(sql`lower(${users.email}) = ${email.toLowerCase()}`);
      expect(rows).toHaveLength(0);
    } finally {
      await db().execute(sql.raw(`drop trigger ${fn} on audit_logs`));
      await db().execute(sql.raw(`drop function ${fn}()`));
    }
  });

  it("bootstraps the platform admin once, checks the policy, and promotes an existing account", async () => {
    const email = uniqueEmail("admin");
    const withAdmin = (ADMIN_EMAIL: string, ADMIN_PASSWORD: string) => ({
      ...t.services,
      config: { ...t.services.config, ADMIN_EMAIL, ADMIN_PASSWORD },
    });
    await expect(ensurePlatformAdmin(withAdmin(email, "weak"))).rejects.toBeInstanceOf(AdminBootstrapError);
    const first = await ensurePlatformAdmin(withAdmin(email, GOOD_PASSWORD));
    expect(first).toMatchObject({ status: "created", email: email.toLowerCase() });
    expect(await ensurePlatformAdmin(withAdmin(email, GOOD_PASSWORD))).toMatchObject({
      status: "exists",
      userId: first.status !== "skipped" && first.userId,
    });
    const s = await signIn(t, { email, password: GOOD_PASSWORD }, "192.0.2.80");
    const me = await (await t.request("/api/v1/me", { headers: bearer(s.accessToken) })).json();
    expect(me.isPlatformAdmin).toBe(true);

    const plain = await signUp(t, {}, "192.0.2.81");
    expect(await ensurePlatformAdmin(withAdmin(plain.email, "Other-Strong-Pass-1"))).toMatchObject({
      status: "promoted",
      userId: plain.id,
    });
    // The existing password is kept.
    await signIn(t, plain, "192.0.2.81");
    expect(
      await ensurePlatformAdmin({
        ...t.services,
        config: { ...t.services.config, ADMIN_EMAIL: undefined, ADMIN_PASSWORD: undefined },
      }),
    ).toEqual({ status: "skipped" });
  });
});
