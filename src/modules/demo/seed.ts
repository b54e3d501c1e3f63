/**
 * The standalone demo: on first start, a building with apartments, so a newcomer can try the API
 * at once. Idempotent: a second start finds the building and seeds nothing.
 */
import { eq } from "drizzle-orm";
import { apartments, buildings } from "../../db/schema";
import type { Services } from "../../services";

export const DEMO_BUILDING_NAME = "Horizon Demo Tower";

export async function seedStandalone(services: Services): Promise<{ lines: string[] }> {
  const lines: string[] = [];
  if (!services.config.SEED_DEMO) return { lines };
  const { db } = services.database;
  const existing = await db.select().from(buildings).where(eq(buildings.name, DEMO_BUILDING_NAME)).limit(1);
  const building =
    existing[0] ??
    (await db.transaction(async (tx) => {
      const [b] = await tx
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
        .returning();
      await tx.insert(apartments).values(
        Array.from({ length: 6 }, (_, i) => ({
          buildingId: b!.id,
          number: String(101 + (i % 3) + Math.floor(i / 3) * 100),
          floor: 1 + Math.floor(i / 3),
          rooms: 3 + (i % 2),
        })),
      );
      return b!;
    }));
  lines.push(`Demo building  ${building.name} (${building.id})`);
  return { lines };
}
