/**
 * The db contract: one suite, run against every adapter: PGlite (in-memory), node-postgres on the
 * local PostgreSQL, and the Neon serverless driver reaching that PostgreSQL through the local
 * WebSocket-to-TCP bridge. Migrations apply on an empty database (twice is a no-op), Drizzle
 * answers the same on all three, transactions roll back and row locks serialize, and every
 * adapter counts its round trips into the request's metrics.
 */
import { randomUUID } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { asc, count, eq, is, sql, sum } from "drizzle-orm";
import { getTableConfig, PgTable } from "drizzle-orm/pg-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { newMetrics, runWithContext } from "../../src/context";
import * as schema from "../../src/db/schema";
import { apartments, buildings, outbox } from "../../src/db/schema";
import { recordedResults } from "../../src/modules/sync/claims";
import { type Database, isUniqueViolation, queryRows } from "../../src/platform/db";
import { createNeonDatabase } from "../../src/platform/db/neon";
import { createPgDatabase } from "../../src/platform/db/pg";
import { createPgliteDatabase } from "../../src/platform/db/pglite";
import { preparedSql } from "../../src/platform/db/prepared";
import { createTestDatabase, MIGRATIONS_FOLDER } from "../support/db";
import { type FlightProxy, startFlightProxy } from "../support/flight-proxy";
import { type NeonBridge, startNeonBridge } from "../support/neon-bridge";
import { createScratchDatabase, type ScratchDatabase } from "../support/scratch-db";

const TABLES = (Object.values(schema) as unknown[])
  .filter((v): v is PgTable => is(v, PgTable))
  .map((t) => getTableConfig(t).name)
  .sort();
const JOURNAL: { entries: unknown[] } = JSON.parse(
  readFileSync(join(MIGRATIONS_FOLDER, "meta", "_journal.json"), "utf8"),
);

const scratch: ScratchDatabase[] = [];

/** A new PostgreSQL database, empty or cloned from the migrated template; dropped in afterAll. */
async function newPgDatabase(migrated: boolean): Promise<string> {
  const db = await createScratchDatabase({ migrated });
  scratch.push(db);
  return db.url;
}

let bridge: NeonBridge | undefined;
const neonOn = async (url: string) => {
  bridge ??= await startNeonBridge();
  return createNeonDatabase({ url, wsProxy: bridge.wsProxy, webSocketConstructor: WebSocket });
};

interface Adapter {
  name: string;
  /** A database with no tables yet, for the migration tests. */
  empty(): Promise<Database>;
  /** A migrated database for the data tests. */
  migrated(): Promise<Database>;
}

const adapters: Adapter[] = [
  { name: "pglite", empty: () => createPgliteDatabase(), migrated: () => createTestDatabase("pglite") },
  {
    name: "pg",
    empty: async () => createPgDatabase({ url: await newPgDatabase(false), max: 5 }),
    migrated: async () => createPgDatabase({ url: await newPgDatabase(true), max: 5 }),
  },
  {
    name: "neon",
    empty: async () => neonOn(await newPgDatabase(false)),
    migrated: async () => neonOn(await newPgDatabase(true)),
  },
];

afterAll(async () => {
  await bridge?.stop();
  for (const db of scratch) await db.drop();
});

async function publicTables(database: Database): Promise<string[]> {
  const rows = await queryRows<{ table_name: string }>(
    database.db,
    sql`select table_name from information_schema.tables where table_schema = 'public' order by table_name`,
  );
  return rows.map((r) => r.table_name);
}

async function appliedMigrations(database: Database): Promise<number> {
  const [row] = await queryRows<{ n: number }>(
    database.db,
    sql`select count(*)::int as n from drizzle.__drizzle_migrations`,
  );
  return row!.n;
}

describe.each(adapters)("db contract: $name", (adapter) => {
  describe("migrations", () => {
    let database: Database;
    beforeAll(async () => {
      database = await adapter.empty();
    });
    afterAll(() => database.close());

    it("apply on an empty database and create every table of the schema", async () => {
      expect(await publicTables(database)).toEqual([]);
      await database.migrate(MIGRATIONS_FOLDER);
      const tables = await publicTables(database);
      for (const t of TABLES) expect(tables).toContain(t);
      expect(await appliedMigrations(database)).toBe(JOURNAL.entries.length);
    });

    it("are a no-op the second time", async () => {
      const before = await publicTables(database);
      await database.migrate(MIGRATIONS_FOLDER);
      expect(await publicTables(database)).toEqual(before);
      expect(await appliedMigrations(database)).toBe(JOURNAL.entries.length);
    });
  });

  describe("migration 0009 (op records in runs)", () => {
    let database: Database;
    const before = mkdtempSync(join(tmpdir(), "horizon-migrations-"));
    beforeAll(async () => {
      database = await adapter.empty();
      // The migrations up to 0008, as a database last migrated before 0009 has them.
      cpSync(MIGRATIONS_FOLDER, before, { recursive: true });
      const journal = JSON.parse(readFileSync(join(before, "meta", "_journal.json"), "utf8"));
      const upTo = journal.entries.findIndex((e: { tag: string }) => e.tag.startsWith("0009_"));
      writeFileSync(
        join(before, "meta", "_journal.json"),
        JSON.stringify({ ...journal, entries: journal.entries.slice(0, upTo) }),
      );
    });
    afterAll(async () => {
      await database.close();
      rmSync(before, { recursive: true, force: true });
    });

    it("carries every op record over as a run of one, and replays still find them", async () => {
      await database.migrate(before);
      const user = randomUUID();
      const legacy: Array<[string, unknown]> = [
        ["ios-1:1", { opId: "ios-1:1", status: "applied", version: 3, buildingId: user }],
        ["ios-1:2", { opId: "ios-1:2", status: "rejected", reason: "READ_ONLY", detail: "no" }],
        ["ios-1:007", { opId: "ios-1:007", status: "applied", version: 4, buildingId: user }],
        ["x", { opId: "x", status: "superseded", superseded: ["title"], version: 5, buildingId: user }],
        ["x:0", { opId: "x:0", status: "applied", version: 6, buildingId: user }],
        ["old", null],
      ];
      for (const [opId, result] of legacy)
        await database.db.execute(
          sql`insert into sync_processed_ops (user_id, op_id, device_id, result)
              values (${user}, ${opId}, 'ios-1', ${result === null ? null : JSON.stringify(result)}::json)`,
        );
      await database.migrate(MIGRATIONS_FOLDER);
      expect(await publicTables(database)).not.toContain("sync_processed_ops");
      const runs = await queryRows<{ stream: string; first_seq: string | number; last_seq: string | number }>(
        database.db,
        sql`select stream, first_seq, last_seq from sync_op_runs where user_id = ${user} order by stream, first_seq`,
      );
      expect(runs.map((r) => [r.stream, Number(r.first_seq), Number(r.last_seq)])).toEqual([
        ["ios-1", 1, 1],
        ["ios-1", 2, 2],
        ["ios-1:007", -1, -1],
        ["old", -1, -1],
        ["x", -1, -1],
        ["x", 0, 0],
      ]);
      const found = await recordedResults(
        database.db,
        user,
        legacy.map(([opId]) => opId),
      );
      expect(Object.fromEntries(found)).toEqual(Object.fromEntries(legacy));
      // And a run overlapping one carried over is refused.
      const err = await database.db
        .execute(
          sql`insert into sync_op_runs (user_id, stream, first_seq, last_seq, device_id, results)
              values (${user}, 'ios-1', 2, 9, 'ios-1', '{"d":[]}')`,
        )
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(String((err as { cause?: unknown })?.cause ?? err)).toContain("sync_op_runs_no_overlap");
    });
  });

  describe("queries", () => {
    let database: Database;
    beforeAll(async () => {
      database = await adapter.migrated();
    });
    afterAll(() => database.close());

    const newBuilding = async (name = "Contract House") => {
      const [row] = await database.db
        .insert(buildings)
        .values({ name, addressLine: "1 Test Street", city: "Lisbon", country: "PT" })
        .returning();
      return row!;
    };

    it("pings", async () => {
      await expect(database.ping()).resolves.toBeUndefined();
    });

    it("inserts and selects through Drizzle with the same results and types", async () => {
      const b = await newBuilding();
      expect(b).toMatchObject({ name: "Contract House", timezone: "UTC", currency: "USD", syncVersion: 0 });
      expect(b.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(b.createdAt).toBeInstanceOf(Date);
      expect(b.deletedAt).toBeNull();

      await database.db.insert(apartments).values([
        { buildingId: b.id, number: "2B", floor: 2, areaSqm: 70, rooms: 3 },
        { buildingId: b.id, number: "1A", floor: 1, areaSqm: 55, rooms: 2 },
        { buildingId: b.id, number: "0C", floor: null, areaSqm: null, rooms: null, syncVersion: 2 ** 40 },
      ]);
      const rows = await database.db
        .select({
          number: apartments.number,
          floor: apartments.floor,
          areaSqm: apartments.areaSqm,
          syncVersion: apartments.syncVersion,
        })
        .from(apartments)
        .where(eq(apartments.buildingId, b.id))
        .orderBy(asc(apartments.number));
      expect(rows).toEqual([
        { number: "0C", floor: null, areaSqm: null, syncVersion: 2 ** 40 },
        { number: "1A", floor: 1, areaSqm: 55, syncVersion: 0 },
        { number: "2B", floor: 2, areaSqm: 70, syncVersion: 0 },
      ]);

      const [agg] = await database.db
        .select({ n: count(), area: sum(apartments.areaSqm) })
        .from(apartments)
        .where(eq(apartments.buildingId, b.id));
      expect(agg).toEqual({ n: 3, area: "125" });

      const payload = { nested: { list: [1, "two", null], ok: true }, text: "é ✓" };
      const [event] = await database.db
        .insert(outbox)
        .values({ buildingId: b.id, topic: "contract.test", payload })
        .returning({ payload: outbox.payload, attempts: outbox.attempts });
      expect(event).toEqual({ payload, attempts: 0 });

      const found = await database.db.query.buildings.findFirst({ where: eq(buildings.id, b.id) });
      expect(found?.name).toBe("Contract House");
    });

    it("runs a prepared statement again and again, with placeholders, also inside a transaction", async () => {
      const b = await newBuilding(`prepared-${randomUUID()}`);
      const byId = preparedSql<{ name: string; n: string | number }>(
        "contract_building_by_id",
        () =>
          sql`select name, ${sql.placeholder("n")}::int + 1 as n from buildings where id = ${sql.placeholder("id")}::uuid`,
      );
      for (let i = 0; i < 8; i++) {
        const rows = await byId(database.db, { id: b.id, n: i });
        expect(rows.map((r) => ({ name: r.name, n: Number(r.n) }))).toEqual([{ name: b.name, n: i + 1 }]);
      }
      await database.db.transaction(async (tx) => {
        expect(await byId(tx, { id: randomUUID(), n: 0 })).toEqual([]);
        expect((await byId(tx, { id: b.id, n: 41 })).map((r) => Number(r.n))).toEqual([42]);
      });
    });

    it("reports a unique violation with its code and constraint (sync push relies on both)", async () => {
      const b = await newBuilding();
      const err = await database.db
        .insert(buildings)
        .values({ id: b.id, name: "twin", addressLine: "x", city: "y", country: "PT" })
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(isUniqueViolation(err, "buildings_pkey")).toBe(true);
      expect(isUniqueViolation(err, "apartments_pkey")).toBe(false);
    });

    it("rolls back a transaction that throws", async () => {
      const name = `rollback-${randomUUID()}`;
      await expect(
        database.db.transaction(async (tx) => {
          await tx.insert(buildings).values({ name, addressLine: "x", city: "y", country: "PT" });
          const inside = await tx.select().from(buildings).where(eq(buildings.name, name));
          expect(inside).toHaveLength(1);
          throw new Error("abort on purpose");
        }),
      ).rejects.toThrow("abort on purpose");
      expect(await database.db.select().from(buildings).where(eq(buildings.name, name))).toEqual([]);

      // A failing statement also rolls back the writes before it.
      const b = await newBuilding();
      await expect(
        database.db.transaction(async (tx) => {
          await tx.update(buildings).set({ city: "Porto" }).where(eq(buildings.id, b.id));
          await tx.insert(apartments).values({ buildingId: randomUUID(), number: "orphan" });
        }),
      ).rejects.toThrow();
      const [after] = await database.db.select().from(buildings).where(eq(buildings.id, b.id));
      expect(after!.city).toBe("Lisbon");
    });

    it("serializes concurrent transactions on a row locked with select ... for update", async () => {
      const b = await newBuilding();
      const N = 4;
      const seen = await Promise.all(
        Array.from({ length: N }, () =>
          database.db.transaction(async (tx) => {
            const [row] = await tx
              .select({ v: buildings.syncVersion })
              .from(buildings)
              .where(eq(buildings.id, b.id))
              .for("update");
            // Hold the lock across a macrotask, so unserialized writers would read the same value.
            await sleep(20);
            await tx
              .update(buildings)
              .set({ syncVersion: row!.v + 1 })
              .where(eq(buildings.id, b.id));
            return row!.v;
          }),
        ),
      );
      expect([...seen].sort()).toEqual(Array.from({ length: N }, (_, i) => i));
      const [after] = await database.db.select().from(buildings).where(eq(buildings.id, b.id));
      expect(after!.syncVersion).toBe(N);
    });

    it("counts its round trips into the request's metrics", async () => {
      const b = await newBuilding();
      const single = newMetrics();
      // Drizzle builders run when awaited, so the await must happen inside the context.
      await runWithContext({ correlationId: "db-metrics-1", metrics: single }, async () => {
        await database.db.select().from(buildings).where(eq(buildings.id, b.id));
      });
      expect(single.dbQueries).toBe(1);
      expect(single.dbMs).toBeGreaterThan(0);

      const inTx = newMetrics();
      await runWithContext({ correlationId: "db-metrics-2", metrics: inTx }, () =>
        database.db.transaction(async (tx) => {
          await tx.select().from(buildings).where(eq(buildings.id, b.id));
          await tx.update(buildings).set({ city: "Faro" }).where(eq(buildings.id, b.id));
        }),
      );
      expect(inTx.dbQueries).toBeGreaterThanOrEqual(2);

      const pinged = newMetrics();
      await runWithContext({ correlationId: "db-metrics-3", metrics: pinged }, () => database.ping());
      expect(pinged.dbQueries).toBe(1);

      // A query after the request ended is not charged to it.
      await database.db.select().from(buildings).where(eq(buildings.id, b.id));
      expect(single.dbQueries).toBe(1);
    });

    if (adapter.name === "neon") {
      it("really goes through the WebSocket bridge", async () => {
        await database.ping();
        expect(bridge!.openConnections()).toBeGreaterThan(0);
      });
    }
  });
});

describe("db contract: node-postgres pipelines a transaction's BEGIN", () => {
  let proxy: FlightProxy;
  let database: Database;
  beforeAll(async () => {
    // The server's answers are held 100 ms: what the client sends meanwhile, it sent unasked.
    proxy = await startFlightProxy({ holdMs: 100 });
    database = createPgDatabase({ url: proxy.url(await newPgDatabase(true)), max: 1 });
    await database.ping();
  });
  afterAll(async () => {
    await database.close();
    await proxy.close();
  });

  it("with the transaction's first statement: one flight fewer than statements", async () => {
    const before = proxy.flights();
    const answers = await database.db.transaction(async (tx) => [
      await queryRows<{ n: number }>(tx, sql`select 1 as n`),
      await queryRows<{ n: number }>(tx, sql`select 2 as n`),
    ]);
    expect(answers.map((rows) => rows.map((r) => r.n))).toEqual([[1], [2]]);
    // BEGIN + select 1, select 2, COMMIT.
    expect(proxy.flights() - before).toBe(3);
  });

  it("and a nested transaction's SAVEPOINT with its first statement too", async () => {
    const before = proxy.flights();
    const answer = await database.db.transaction(async (tx) => {
      await queryRows(tx, sql`select 1 as n`);
      return tx.transaction((sp) => queryRows<{ n: number }>(sp, sql`select 2 as n`));
    });
    expect(answer).toEqual([{ n: 2 }]);
    // BEGIN + select 1, SAVEPOINT + select 2, RELEASE, COMMIT.
    expect(proxy.flights() - before).toBe(4);

    // A nested transaction whose first statement fails rolls back to its savepoint alone.
    const name = `savepoint-${randomUUID()}`;
    await database.db.transaction(async (tx) => {
      await tx.insert(buildings).values({ name, addressLine: "x", city: "y", country: "PT" });
      await tx.transaction((sp) => sp.execute(sql`select 1 / 0`)).catch(() => {});
    });
    expect(await database.db.select().from(buildings).where(eq(buildings.name, name))).toHaveLength(1);
  });

  it("still rolls back when that first statement fails, and the connection stays usable", async () => {
    const name = `pipelined-${randomUUID()}`;
    const failed = await database.db
      .transaction(async (tx) => {
        await tx.execute(sql`select 1 / 0`);
        await tx.insert(buildings).values({ name, addressLine: "x", city: "y", country: "PT" });
      })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(String((failed as { cause?: unknown })?.cause ?? failed)).toContain("division by zero");
    await database.db
      .transaction(async (tx) => {
        await tx.insert(buildings).values({ name: `${name}-2`, addressLine: "x", city: "y", country: "PT" });
        throw new Error("undo");
      })
      .catch(() => {});
    const rows = await database.db
      .select()
      .from(buildings)
      .where(sql`${buildings.name} like ${`${name}%`}`);
    expect(rows).toEqual([]);
    expect(await queryRows(database.db, sql`select 1 as n`)).toEqual([{ n: 1 }]);
  });
});
