/** Delivery-log retention on PGlite and PostgreSQL: rows past PUSH_DELIVERY_RETENTION_DAYS go, recent ones stay. */
import { inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pushDeliveries } from "../../../src/db/schema";
import { prunePushDeliveries } from "../../../src/modules/push/retention";
import { createTestApp, type TestApp } from "../../support/app";
import { DB_KINDS } from "../../support/db";

describe.each(DB_KINDS)("push delivery retention on %s", (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ db: kind, env: { PUSH_DELIVERY_RETENTION_DAYS: "30" } });
  });
  afterAll(async () => t?.close());

  it("deletes rows older than the retention and keeps the rest", async () => {
    const day = 24 * 3600_000;
    const now = t.services.clock.now().getTime();
    const row = (ageDays: number) => ({
      notificationId: crypto.randomUUID(),
      deviceId: crypto.randomUUID(),
      userId: crypto.randomUUID(),
      provider: "fcm" as const,
      status: "sent" as const,
      createdAt: new Date(now - ageDays * day),
    });
    const rows = await t.services.database.db
      .insert(pushDeliveries)
      .values([row(31), row(29), row(0)])
      .returning({ id: pushDeliveries.id });
    expect(await prunePushDeliveries(t.services)).toBeGreaterThanOrEqual(1);
    const left = await t.services.database.db
      .select({ id: pushDeliveries.id })
      .from(pushDeliveries)
      .where(
        inArray(
          pushDeliveries.id,
          rows.map((r) => r.id),
        ),
      );
    expect(left.map((r) => r.id).sort()).toEqual([rows[1]!.id, rows[2]!.id].sort());
  });
});
