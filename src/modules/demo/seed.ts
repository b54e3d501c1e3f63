/**
 * The standalone demo: a building with apartments, a manager, residents, dues and payments, open
 * maintenance requests and announcements, so a newcomer can try every route from /docs at once.
 * The accounts have real (argon2id) passwords, printed at start. Idempotent: each part is found
 * or created, and the sample content is written only while the building has none, all in one
 * transaction that bumps the building version once it writes a row and stamps every row with it
 * (a restart that finds everything in place leaves the version as it was; sync clients pull
 * the demo like any other data). Payment and membership rows get their audit rows as usual.
 */
import { and, eq, isNull, sql } from "drizzle-orm";
import {
  announcements,
  apartments,
  buildings,
  maintenanceRequests,
  memberships,
  payments,
  requestComments,
  users,
} from "../../db/schema";
import type { Services } from "../../services";
import { inTransaction, userActor, userOf, type VerbContext } from "../../verbs";
import { recordAudit } from "../audit/chain";
import { snapshot } from "../buildings/common";
import { bumpBuildingVersion } from "../sync/version";

export const DEMO_BUILDING_NAME = "Horizon Demo Tower";
/** Meets the password policy (12+ characters, upper, lower, digit, symbol). Demo data only. */
export const DEMO_PASSWORD = "Horizon-Demo-2026!";

const APARTMENTS = ["101", "102", "103", "201", "202", "203"];
const PEOPLE = [
  { email: "manager@demo.horizon.example", name: "Dana Manager", role: "manager" as const, apartment: null },
  { email: "noa@demo.horizon.example", name: "Noa Resident", role: "resident" as const, apartment: "101" },
  { email: "omer@demo.horizon.example", name: "Omer Resident", role: "resident" as const, apartment: "102" },
  { email: "lea@demo.horizon.example", name: "Lea Resident", role: "resident" as const, apartment: "201" },
];

function seedContext(services: Services): VerbContext {
  return {
    services,
    db: services.database.db,
    actor: { kind: "system", name: "demo-seed" },
    membership: null,
    correlationId: "system:demo-seed",
    ip: "",
    userAgent: `horizon/${services.version}`,
    now: services.clock.now(),
  };
}

async function ensureUsers(services: Services) {
  const { db } = services.database;
  const out: Record<string, { id: string; created: boolean }> = {};
  // One argon2id hash for every demo account a run creates (their password is the same and
  // printed at start): a hash costs ~0.1–0.3 s of CPU, and the start waits for the seed.
  let demoHash: Promise<string> | undefined;
  for (const p of PEOPLE) {
    const [found] = await db
      .select({ id: users.id })
      .from(users)
      .where(sql`lower(${users.email}) = ${p.email}`);
    if (found) {
      out[p.email] = { id: found.id, created: false };
      continue;
    }
    demoHash ??= services.passwords.hash(DEMO_PASSWORD);
    const passwordHash = await demoHash;
    const [row] = await db
      .insert(users)
      .values({ email: p.email, name: p.name, passwordHash, locale: "en", timezone: "Asia/Jerusalem" })
      .onConflictDoNothing()
      .returning({ id: users.id });
    const id =
      row?.id ?? (await db.select({ id: users.id }).from(users).where(eq(users.email, p.email)))[0]!.id;
    out[p.email] = { id, created: Boolean(row) };
  }
  return out;
}

export interface DemoSeed {
  /**
   * The start banner's lines. Whether an account still has the demo password is checked here, not
   * by the seed (one argon2id verify per distinct hash, ~0.1 s of CPU), so a host serves first.
   */
  lines(): Promise<string[]>;
}

export async function seedStandalone(services: Services): Promise<DemoSeed> {
  if (!services.config.SEED_DEMO) return { lines: async () => [] };
  const people = await ensureUsers(services);
  const ctx = seedContext(services);
  const managerId = people[PEOPLE[0]!.email]!.id;

  const building = await inTransaction(ctx, async (tx) => {
    const db = tx.db;
    const [existing] = await db
      .select()
      .from(buildings)
      .where(and(eq(buildings.name, DEMO_BUILDING_NAME), isNull(buildings.deletedAt)))
      .limit(1);
    const b =
      existing ??
      (
        await db
          .insert(buildings)
          .values({
            name: DEMO_BUILDING_NAME,
            addressLine: "1 Rothschild Blvd",
            city: "Tel Aviv",
            country: "IL",
            timezone: "Asia/Jerusalem",
            defaultLocale: "he",
            currency: "ILS",
          })
          .returning()
      )[0]!;
    // Bumped on the first row written, once: a restart that writes nothing keeps the version.
    let bumped: Promise<number> | undefined;
    const version = () => (bumped ??= bumpBuildingVersion(db, b.id));
    const actor = { ...tx, actor: userActor({ userId: managerId, isAdmin: false }) };

    const apts = new Map(
      (
        await db
          .select({ id: apartments.id, number: apartments.number })
          .from(apartments)
          .where(and(eq(apartments.buildingId, b.id), isNull(apartments.deletedAt)))
      ).map((a) => [a.number, a.id]),
    );
    for (const [i, number] of APARTMENTS.entries()) {
      if (apts.has(number)) continue;
      const [a] = await db
        .insert(apartments)
        .values({
          buildingId: b.id,
          number,
          floor: Math.floor(i / 3) + 1,
          rooms: 3 + (i % 2),
          areaSqm: 70 + 10 * (i % 3),
          syncVersion: await version(),
        })
        .returning({ id: apartments.id });
      apts.set(number, a!.id);
    }

    for (const p of PEOPLE) {
      const userId = people[p.email]!.id;
      const [member] = await db
        .select({ id: memberships.id })
        .from(memberships)
        .where(
          and(
            eq(memberships.buildingId, b.id),
            eq(memberships.userId, userId),
            isNull(memberships.deletedAt),
          ),
        );
      if (member) continue;
      const [row] = await db
        .insert(memberships)
        .values({
          buildingId: b.id,
          userId,
          role: p.role,
          apartmentId: p.apartment ? apts.get(p.apartment)! : null,
          syncVersion: await version(),
        })
        .returning();
      await recordAudit(actor, {
        action: "membership.create",
        entityType: "membership",
        entityId: row!.id,
        buildingId: b.id,
        changes: { after: snapshot(row) },
      });
    }

    const [{ n }] = (await db
      .select({ n: sql<number>`count(*)::int` })
      .from(payments)
      .where(eq(payments.buildingId, b.id))) as [{ n: number }];
    if (Number(n) === 0) await seedContent(actor, b.id, await version(), apts, people);
    return b;
  });

  return {
    async lines() {
      const lines = [`Demo building  ${building.name} (${building.id})`];
      const isDemoHash = new Map<string, Promise<boolean>>();
      for (const p of PEOPLE) {
        const who = people[p.email]!;
        const where = p.apartment ? `${p.role}, apt ${p.apartment}` : p.role;
        lines.push(
          `Demo ${p.role.padEnd(9)} ${p.email} / ${who.created || (await usesDemoPassword(services, who.id, isDemoHash)) ? DEMO_PASSWORD : "(existing password)"}  (${where})`,
        );
      }
      return lines;
    },
  };
}

/** Whether the account still has the demo password; each distinct hash is verified once (restarts). */
async function usesDemoPassword(
  services: Services,
  userId: string,
  verified: Map<string, Promise<boolean>>,
): Promise<boolean> {
  const [u] = await services.database.db
    .select({ h: users.passwordHash })
    .from(users)
    .where(eq(users.id, userId));
  if (!u) return false;
  let ok = verified.get(u.h);
  if (!ok) {
    ok = services.passwords.verify(DEMO_PASSWORD, u.h);
    verified.set(u.h, ok);
  }
  return ok;
}

/** Dues and payments, open requests with a comment, and announcements: written once. */
async function seedContent(
  ctx: VerbContext,
  buildingId: string,
  version: number,
  apts: Map<string, string>,
  people: Record<string, { id: string }>,
) {
  const db = ctx.db;
  const managerId = userOf(ctx)!.userId;
  const month = ctx.now.toISOString().slice(0, 7);
  const rows: Array<typeof payments.$inferInsert> = [];
  for (const number of APARTMENTS) {
    const apartmentId = apts.get(number)!;
    rows.push({
      buildingId,
      apartmentId,
      kind: "due",
      amountMinor: 45000,
      currency: "ILS",
      description: `Building fee ${month}`,
      dueDate: `${month}-10`,
      recordedBy: managerId,
      syncVersion: version,
    });
    if (number !== "102") {
      rows.push({
        buildingId,
        apartmentId,
        kind: "payment",
        amountMinor: 45000,
        currency: "ILS",
        description: `Building fee ${month}`,
        paidAt: ctx.now,
        method: "bank_transfer",
        recordedBy: managerId,
        syncVersion: version,
      });
    }
  }
  const inserted = await db.insert(payments).values(rows).returning();
  for (const row of inserted) {
    await recordAudit(ctx, {
      action: "payment.create",
      entityType: "payment",
      entityId: row.id,
      buildingId,
      changes: { after: snapshot(row) },
    });
  }

  const noa = people["noa@demo.horizon.example"]!.id;
  const omer = people["omer@demo.horizon.example"]!.id;
  const [leak] = await db
    .insert(maintenanceRequests)
    .values([
      {
        buildingId,
        apartmentId: apts.get("101")!,
        openedBy: noa,
        title: "Kitchen tap is leaking",
        description: "It drips all night.",
        category: "plumbing",
        priority: "high",
        syncVersion: version,
      },
      {
        buildingId,
        apartmentId: apts.get("102")!,
        openedBy: omer,
        title: "Hallway light on floor 1 is out",
        category: "electrical",
        syncVersion: version,
      },
    ])
    .returning({ id: maintenanceRequests.id });
  await db.insert(requestComments).values({
    buildingId,
    requestId: leak!.id,
    authorId: managerId,
    body: "A plumber is booked for Tuesday morning.",
    syncVersion: version,
  });

  await db.insert(announcements).values([
    {
      buildingId,
      authorId: managerId,
      title: "Welcome to Horizon",
      body: "Report problems, follow your payments and read building news here.",
      syncVersion: version,
    },
    {
      buildingId,
      authorId: managerId,
      title: "Water shut-off on Tuesday",
      body: "Water will be off from 9:00 to 12:00 for pipe maintenance.",
      priority: "important",
      syncVersion: version,
    },
  ]);
}
