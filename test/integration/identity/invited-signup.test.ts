/**
 * Signing up with an email a manager invited (POST /buildings/{id}/members for an email with no
 * account) claims the invited user row: the membership waiting on it works at once, the claim is
 * audited as user.register, and the invitation can be claimed only once.
 */
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLogs, users } from "../../../src/db/schema";
import { createTestApp, type TestApp } from "../../support/app";
import { DB_KINDS } from "../../support/db";
import { createBuilding, json } from "../../support/fixtures";
import { bearer, GOOD_PASSWORD, signIn, uniqueEmail } from "./helpers";

describe.each(DB_KINDS)("sign-up of an invited email on %s", (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ db: kind, env: { RATE_LIMIT_ENABLED: "false" } });
  });
  afterAll(() => t.close());

  it("takes over the invited row so the membership works after sign-up", async () => {
    const b = await createBuilding(t.services);
    const email = uniqueEmail("invitee").toLowerCase();
    const invite = await t.request(
      `/api/v1/buildings/${b.id}/members`,
      json({ email, role: "resident", apartmentId: b.apartments[2]!.id }, b.manager.auth),
    );
    expect(invite.status, await invite.clone().text()).toBe(201);
    const { member, invited } = (await invite.json()) as {
      member: { id: string; userId: string };
      invited: boolean;
    };
    expect(invited).toBe(true);

    // Before sign-up the invitation cannot sign in.
    const early = await t.request("/api/v1/auth/login", json({ email, password: GOOD_PASSWORD }));
    expect(early.status).toBe(401);

    const res = await t.request(
      "/api/v1/auth/register",
      json({ email: email.toUpperCase(), password: GOOD_PASSWORD, name: "Noa Invitee", locale: "he" }),
    );
    expect(res.status, await res.clone().text()).toBe(201);
    const profile = (await res.json()) as Record<string, unknown>;
    expect(profile).toMatchObject({ id: member.userId, email, name: "Noa Invitee", locale: "he" });

    const [row] = await t.services.database.db.select().from(users).where(eq(users.id, member.userId));
    expect(row).toMatchObject({ status: "active", name: "Noa Invitee" });
    expect(row!.passwordHash).not.toBe("!invited");

    const session = await signIn(t, { email, password: GOOD_PASSWORD });
    const building = await t.request(`/api/v1/buildings/${b.id}`, { headers: bearer(session.accessToken) });
    expect(building.status).toBe(200);
    const apartment = await t.request(`/api/v1/buildings/${b.id}/apartments/${b.apartments[2]!.id}`, {
      headers: bearer(session.accessToken),
    });
    expect(apartment.status).toBe(200);
    const me = await t.request("/api/v1/me", { headers: bearer(session.accessToken) });
    expect(await me.json()).toMatchObject({ id: member.userId, name: "Noa Invitee" });

    const members = await t.request(`/api/v1/buildings/${b.id}/members?limit=100`, {
      headers: b.manager.auth,
    });
    const listed = ((await members.json()) as { data: Array<{ id: string; user: { status: string } }> }).data;
    expect(listed.find((m) => m.id === member.id)?.user.status).toBe("active");

    const audits = await t.services.database.db
      .select()
      .from(auditLogs)
      .where(and(eq(auditLogs.entityId, member.userId), eq(auditLogs.action, "user.register")));
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({ entityType: "user", userId: member.userId });
    expect(audits[0]!.changes).toMatchObject({ before: { status: "invited" }, after: { status: "active" } });
    expect(JSON.stringify(audits[0]!.changes)).not.toContain(GOOD_PASSWORD);

    // The invitation is claimed: a second sign-up with the email is an ordinary conflict.
    const again = await t.request(
      "/api/v1/auth/register",
      json({ email, password: `${GOOD_PASSWORD}!`, name: "Someone Else" }),
    );
    expect(again.status).toBe(409);
    expect((await again.json()).code).toBe("ALREADY_EXISTS");
  });

  it("lets exactly one of two racing sign-ups claim an invitation", async () => {
    const b = await createBuilding(t.services);
    const email = uniqueEmail("race").toLowerCase();
    const invite = await t.request(
      `/api/v1/buildings/${b.id}/members`,
      json({ email, role: "manager" }, b.manager.auth),
    );
    expect(invite.status).toBe(201);
    const replies = await Promise.all(
      ["First Racer", "Second Racer"].map((name) =>
        t.request("/api/v1/auth/register", json({ email, password: GOOD_PASSWORD, name })),
      ),
    );
    expect(replies.map((r) => r.status).sort()).toEqual([201, 409]);
    const rows = await t.services.database.db.select().from(users).where(eq(users.email, email));
    expect(rows).toHaveLength(1);
    expect(rows[0]!.status).toBe("active");
  });

  it("still refuses the email of an active account, and a weak password leaves the invitation", async () => {
    const b = await createBuilding(t.services);
    const taken = await t.request(
      "/api/v1/auth/register",
      json({ email: b.resident.email, password: GOOD_PASSWORD, name: "Impostor" }),
    );
    expect(taken.status).toBe(409);
    const email = uniqueEmail("weak").toLowerCase();
    await t.request(`/api/v1/buildings/${b.id}/members`, json({ email, role: "manager" }, b.manager.auth));
    const weak = await t.request("/api/v1/auth/register", json({ email, password: "short", name: "Weak" }));
    expect(weak.status).toBe(400);
    const [row] = await t.services.database.db.select().from(users).where(eq(users.email, email));
    expect(row).toMatchObject({ status: "invited", passwordHash: "!invited" });
  });
});
