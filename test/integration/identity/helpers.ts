/** Sign-up and sign-in through the real API, for the identity and audit tests. */
import { expect } from "vitest";
import type { TestApp } from "../../support/app";
import { json } from "../../support/fixtures";

let n = 0;
export const uniqueEmail = (tag = "u") =>
  `${tag}-${Date.now().toString(36)}${(n++).toString(36)}${Math.random().toString(36).slice(2, 6)}@Example.test`;

export const GOOD_PASSWORD = "Correct-Horse-9-Battery";

export interface Account {
  id: string;
  email: string;
  password: string;
}

export async function signUp(
  t: TestApp,
  overrides: Record<string, unknown> = {},
  ip?: string,
): Promise<Account> {
  const body = { email: uniqueEmail(), password: GOOD_PASSWORD, name: "Dana Levi", ...overrides };
  const res = await t.request("/api/v1/auth/register", json(body), ip);
  expect(res.status, await res.clone().text()).toBe(201);
  const profile = (await res.json()) as { id: string };
  return { id: profile.id, email: String(body.email), password: String(body.password) };
}

export interface Session {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

export async function signIn(
  t: TestApp,
  account: Pick<Account, "email" | "password">,
  ip?: string,
): Promise<Session> {
  const res = await t.request(
    "/api/v1/auth/login",
    json({ email: account.email, password: account.password }),
    ip,
  );
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as Session;
}

export const refreshWith = (t: TestApp, refreshToken: string, ip?: string) =>
  t.request("/api/v1/auth/refresh", json({ refreshToken }), ip);

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
