/**
 * Property 32 over the real API. Speed: each run signs up and in with argon2id, so this file swaps
 * in a cheap hasher (m = 64 KiB, t = 1) on its own test services. That is test-only: production
 * and every other test keep the OWASP parameters, and the hasher is the same code path.
 */
import { eq } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLogs } from "../../../src/db/schema";
import { PLATFORM_SCOPE, verifyAuditChain } from "../../../src/modules/audit/chain";
import { createHashWasmHasher } from "../../../src/platform/password/hash-wasm";
import { recomputeChain } from "../../integration/audit/independent-hash";
import { createTestApp, type TestApp } from "../../support/app";

type Op = "register" | "loginOk" | "loginBad" | "refresh" | "replay" | "logout" | "updateProfile";
const OPS: Op[] = ["register", "loginOk", "loginBad", "refresh", "replay", "logout", "updateProfile"];

const EXPECTED_ACTION: Record<Op, string | null> = {
  register: "user.register",
  loginOk: "auth.login",
  loginBad: "auth.login_failed",
  refresh: null, // continuing a signed-in session is not a new authentication event
  replay: "auth.refresh_reuse",
  logout: "auth.logout",
  updateProfile: "user.update",
};

describe("audit trail", () => {
  let t: TestApp;
  let runNo = 0;
  beforeAll(async () => {
    t = await createTestApp({
      db: "pglite",
      env: { RATE_LIMIT_ENABLED: "false", LOGIN_MAX_PER_ACCOUNT: "1000" },
    });
    t.services.passwords = createHashWasmHasher({ m: 64, t: 1, p: 1 });
  });
  afterAll(() => t.close());

  it("Property 32: Audit log creation — every sensitive operation writes exactly one audit row with all required metadata, and the chain verifies", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(...OPS), { minLength: 1, maxLength: 8 }), async (ops) => {
        const run = runNo++;
        const ip = `10.${(run >> 8) & 255}.${run & 255}.7`;
        const userAgent = `prop32/${run}`;
        const email = `p32-${run}-${Date.now().toString(36)}@example.test`;
        const password = "Prop-32-Password!";
        let userId: string | null = null;
        let access: string | null = null;
        const families: Array<{ current: string; rotated: string[]; revoked: boolean }> = [];

        const call = async (path: string, method: string, body: unknown, token?: string) => {
          const res = await t.request(
            `/api/v1${path}`,
            {
              method,
              headers: {
                "content-type": "application/json",
                "user-agent": userAgent,
                ...(token ? { authorization: `Bearer ${token}` } : {}),
              },
              body: JSON.stringify(body),
            },
            ip,
          );
          return {
            res,
            correlationId: res.headers.get("x-correlation-id")!,
            body: res.status === 204 ? null : await res.json(),
          };
        };

        for (const [step, op] of ops.entries()) {
          let r: Awaited<ReturnType<typeof call>> | null = null;
          let expectAction = EXPECTED_ACTION[op];
          let expectUser: string | null = userId;
          const live = families.find((f) => !f.revoked);
          if (op === "register") {
            r = await call("/auth/register", "POST", { email, password, name: "P32" });
            if (userId) {
              expect(r.res.status).toBe(409);
              expectAction = null;
            } else {
              expect(r.res.status).toBe(201);
              userId = r.body.id;
              expectUser = userId;
            }
          } else if (op === "loginOk") {
            r = await call("/auth/login", "POST", { email, password });
            if (userId) {
              expect(r.res.status).toBe(200);
              families.push({ current: r.body.refreshToken, rotated: [], revoked: false });
              access = r.body.accessToken;
            } else {
              expect(r.res.status).toBe(401);
              expectAction = "auth.login_failed";
            }
          } else if (op === "loginBad") {
            r = await call("/auth/login", "POST", { email, password: `${password}x` });
            expect(r.res.status).toBe(401);
          } else if (op === "refresh") {
            if (!live) continue;
            r = await call("/auth/refresh", "POST", { refreshToken: live.current });
            expect(r.res.status).toBe(200);
            live.rotated.push(live.current);
            live.current = r.body.refreshToken;
          } else if (op === "replay") {
            const fam = families.find((f) => f.rotated.length > 0);
            if (!fam) continue;
            r = await call("/auth/refresh", "POST", { refreshToken: fam.rotated[0] });
            expect(r.res.status).toBe(401);
            if (fam.revoked) expectAction = null;
            fam.revoked = true;
          } else if (op === "logout") {
            const fam = families[families.length - 1];
            if (!fam) continue;
            r = await call("/auth/logout", "POST", { refreshToken: fam.current });
            expect(r.res.status).toBe(204);
            if (fam.revoked) expectAction = null;
            fam.revoked = true;
          } else if (op === "updateProfile") {
            if (!access) continue;
            r = await call("/me", "PATCH", { name: `P32 step ${step}` }, access);
            expect(r.res.status).toBe(200);
          }
          const rows = await t.services.database.db
            .select()
            .from(auditLogs)
            .where(eq(auditLogs.correlationId, r!.correlationId));
          if (!expectAction) {
            expect(rows, `${op} wrote an unexpected audit row`).toHaveLength(0);
            continue;
          }
          expect(rows, `${op} must write exactly one audit row`).toHaveLength(1);
          const row = rows[0]!;
          expect(row).toMatchObject({
            scope: PLATFORM_SCOPE,
            action: expectAction,
            ipAddress: ip,
            userAgent,
            userId: expectUser,
          });
          expect(row.entityType.length).toBeGreaterThan(0);
          expect(row.entityId.length).toBeGreaterThan(0);
          expect(row.timestamp).toBeInstanceOf(Date);
          expect(row.hash).toMatch(/^[0-9a-f]{64}$/);
          expect(JSON.stringify(row.changes ?? {})).not.toContain(password);
        }
      }),
      { numRuns: 100 },
    );
    expect(await verifyAuditChain(t.services.database.db, PLATFORM_SCOPE)).toMatchObject({
      valid: true,
      firstBroken: null,
    });
    // The verifier is the writer's own code; the hashes are also recomputed from the documented
    // format, so a field the writer leaves out of the hash input (user, changes, …) fails here.
    const chain = await recomputeChain(t.services.database.db, PLATFORM_SCOPE);
    expect(chain.length).toBeGreaterThan(100);
    for (const link of chain) {
      expect(link.prevOk, `seq ${link.seq} prev_hash`).toBe(true);
      expect(link.stored, `seq ${link.seq} hash`).toBe(link.expected);
    }
  });
});
