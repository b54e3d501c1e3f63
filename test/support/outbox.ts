/**
 * Runs the pending outbox rows of some topics through the real consumer, as a transport would, for
 * tests that drive delivery step by step: each must settle `ok`. Answers the ids it delivered, in
 * order (oldest first); none when nothing of those topics was pending.
 */
import { sql } from "drizzle-orm";
import { expect } from "vitest";
import { createOutboxConsumer } from "../../src/modules/outbox/consumer";
import { queryRows } from "../../src/platform/db";
import type { TestApp } from "./app";

export async function deliverPending(t: TestApp, topics: readonly string[]): Promise<string[]> {
  const rows = await queryRows<{ id: string }>(
    t.services.database.db,
    sql`select id from outbox where topic in ${topics} and dispatched_at is null and dead_at is null
      order by created_at, id`,
  );
  const consumer = createOutboxConsumer(t.services);
  for (const r of rows) {
    const outcome = await consumer.deliver(r.id);
    expect(outcome.status, JSON.stringify(outcome)).toBe("ok");
  }
  return rows.map((r) => r.id);
}
