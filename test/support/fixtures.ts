/**
 * Per-test tenants: each test makes its own users and building, so tests never share seeded rows
 * and can run in parallel. Users are inserted directly (with an unusable password hash) and get
 * real signed access tokens; tests of the login flow itself go through the API instead.
 */
import { apartments, buildings, memberships, users } from "../../src/db/schema";
import { signAccessToken } from "../../src/modules/identity/tokens";
import type { Services } from "../../src/services";

let n = 0;
const unique = () =>
  `${Date.now().toString(36)}${(n++).toString(36)}${Math.random().toString(36).slice(2, 6)}`;

export interface TestUser {
  id: string;
  email: string;
  token: string;
  auth: { authorization: string };
}

export async function createUser(
  services: Services,
  options: { admin?: boolean; name?: string; locale?: string } = {},
): Promise<TestUser> {
  const email = `user-${unique()}@test.horizon`;
  const [row] = await services.database.db
    .insert(users)
    .values({
      email,
      name: options.name ?? "Test User",
      passwordHash: "!fixture-no-login",
      isPlatformAdmin: options.admin ?? false,
      locale: options.locale ?? "en",
    })
    .returning();
  const token = await tokenFor(services, row!.id, options.admin ?? false);
  return { id: row!.id, email, token, auth: { authorization: `Bearer ${token}` } };
}

export function tokenFor(
  services: Services,
  userId: string,
  isAdmin = false,
  now = services.clock.now(),
  ttl?: number,
) {
  return signAccessToken({ userId, isAdmin }, services.config.JWT_SECRET!, now, ttl);
}

export interface TestBuilding {
  id: string;
  apartments: Array<{ id: string; number: string }>;
  manager: TestUser;
  /** resident of apartments[0] */
  resident: TestUser;
  /** resident of apartments[1] */
  neighbour: TestUser;
}

/** A building with 3 apartments, a manager, and residents in the first two apartments. */
export async function createBuilding(
  services: Services,
  name = `Building ${unique()}`,
): Promise<TestBuilding> {
  const { db } = services.database;
  const [b] = await db
    .insert(buildings)
    .values({ name, addressLine: "1 Test St", city: "Haifa", country: "IL", currency: "ILS" })
    .returning();
  const apts = await db
    .insert(apartments)
    .values(["1", "2", "3"].map((number) => ({ buildingId: b!.id, number, floor: 1 })))
    .returning({ id: apartments.id, number: apartments.number });
  const [manager, resident, neighbour] = await Promise.all([
    createUser(services, { name: "Manager" }),
    createUser(services, { name: "Resident" }),
    createUser(services, { name: "Neighbour" }),
  ]);
  await db.insert(memberships).values([
    { buildingId: b!.id, userId: manager.id, role: "manager" },
    { buildingId: b!.id, userId: resident.id, role: "resident", apartmentId: apts[0]!.id },
    { buildingId: b!.id, userId: neighbour.id, role: "resident", apartmentId: apts[1]!.id },
  ]);
  return { id: b!.id, apartments: apts, manager, resident, neighbour };
}

export const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});
