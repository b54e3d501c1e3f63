import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryRows } from "../../../src/platform/db";
import { hlcAt, opId, pull, pullAll, push } from "../../integration/sync/helpers";
import { createTestApp, type TestApp } from "../../support/app";
import { createBuilding } from "../../support/fixtures";

type Action = {
  kind: "create" | "update" | "delete";
  entity: "announcements" | "maintenance_requests";
  pick: number;
  apt: number;
};

describe("sync delta pull", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ db: "pglite" });
  });
  afterAll(() => t.close());

  it("Property 25: Delta sync efficiency — a pull from any cursor returns exactly the visible rows changed after it, all of them, once", async () => {
    const action = fc.record({
      kind: fc.constantFrom("create", "create", "update", "delete") as fc.Arbitrary<Action["kind"]>,
      entity: fc.constantFrom("announcements", "maintenance_requests") as fc.Arbitrary<Action["entity"]>,
      pick: fc.nat(50),
      apt: fc.nat(1),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(action, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 6 }),
        fc.nat(),
        fc.integer({ min: 1, max: 6 }),
        fc.boolean(),
        async (batches, cursorAt, limit, asResident) => {
          const b = await createBuilding(t.services);
          const ids: Record<string, string[]> = { announcements: [], maintenance_requests: [] };
          const cursorBatch = cursorAt % (batches.length + 1);
          let cursor: number | null = null;
          let now = Date.now();
          for (const [i, batch] of batches.entries()) {
            if (i === cursorBatch) cursor = (await pull(t, b.manager, { [b.id]: null })).body.cursors[b.id]!;
            const ops = batch.map((a) => {
              const list = ids[a.entity]!;
              const hlc = hlcAt(now++, "m");
              if (a.kind === "create" || list.length === 0) {
                const id = randomUUID();
                list.push(id);
                const fields =
                  a.entity === "announcements"
                    ? { buildingId: b.id, title: "a", body: "b" }
                    : { buildingId: b.id, apartmentId: b.apartments[a.apt]!.id, title: "r" };
                return { opId: opId(), type: "create", entity: a.entity, id, fields, hlc };
              }
              const id = list[a.pick % list.length]!;
              return a.kind === "update"
                ? { opId: opId(), type: "update", entity: a.entity, id, fields: { title: `u${now}` }, hlc }
                : { opId: opId(), type: "delete", entity: a.entity, id, hlc };
            });
            await push(t, b.manager, ops, "m");
          }
          if (cursor === null) cursor = (await pull(t, b.manager, { [b.id]: null })).body.cursors[b.id]!;
          const who = asResident ? b.resident : b.manager;
          const { pages } = await pullAll(t, who, { [b.id]: cursor }, limit);
          // Ground truth straight from the tables.
          const truth = await queryRows<{ e: string; id: string; d: boolean; apt: string | null }>(
            t.services.database.db,
            sql`select 'announcements' as e, id, deleted_at is not null as d, null::uuid as apt from announcements where building_id = ${b.id} and sync_version > ${cursor}
             union all select 'maintenance_requests', id, deleted_at is not null, apartment_id from maintenance_requests where building_id = ${b.id} and sync_version > ${cursor}
             union all select 'apartments', id, deleted_at is not null, id from apartments where building_id = ${b.id} and sync_version > ${cursor}
             union all select 'memberships', id, deleted_at is not null, null from memberships where building_id = ${b.id} and sync_version > ${cursor}`,
          );
          const visible = truth.filter(
            (r) => !asResident || r.e !== "maintenance_requests" || r.apt === b.apartments[0]!.id,
          );
          const want = (deleted: boolean) =>
            visible
              .filter((r) => r.d === deleted && r.e !== "memberships")
              .map((r) => `${r.e}:${r.id}`)
              .sort();
          const got = { live: [] as string[], deleted: [] as string[] };
          for (const p of pages) {
            for (const [e, ch] of Object.entries(p.changes)) {
              if (e === "memberships") continue;
              got.live.push(...[...ch!.created, ...ch!.updated].map((r) => `${e}:${r.id}`));
              got.deleted.push(...ch!.deleted.map((id) => `${e}:${id}`));
            }
          }
          expect(got.live.sort()).toEqual(want(false));
          expect(got.deleted.sort()).toEqual(want(true));
        },
      ),
      { numRuns: 100 },
    );
  }, 300_000);
});
