import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hlcAt, opId, pull, push } from "../../integration/sync/helpers";
import { createTestApp, type TestApp } from "../../support/app";
import { createBuilding } from "../../support/fixtures";

describe("sync last-write-wins", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ db: "pglite" });
  });
  afterAll(() => t.close());

  it("Property 23: Last-write-wins conflict resolution — the edit with the latest clock wins per field, in any arrival order, and a delete wins over every update", async () => {
    const edit = fc.record({
      device: fc.constantFrom("dev-a", "dev-b", "dev-c"),
      dt: fc.integer({ min: 1, max: 50 }),
      counter: fc.nat(3),
      field: fc.constantFrom("title", "body"),
      value: fc.string({ minLength: 1, maxLength: 8 }).map((s) => `v${s.trim() || "_"}`),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(edit, {
          minLength: 1,
          maxLength: 6,
          selector: (e) => `${e.dt}-${e.counter}-${e.device}`,
        }),
        fc.boolean(),
        fc.nat(),
        async (edits, withDelete, seed) => {
          const b = await createBuilding(t.services);
          const id = randomUUID();
          const t0 = Date.now() - 10_000;
          await push(
            t,
            b.manager,
            [
              {
                opId: opId(),
                type: "create",
                entity: "announcements",
                id,
                fields: { buildingId: b.id, title: "t0", body: "b0" },
                hlc: hlcAt(t0, "seed"),
              },
            ],
            "seed",
          );
          const ops: any[] = edits.map((e) => ({
            opId: opId(),
            type: "update",
            entity: "announcements",
            id,
            fields: { [e.field]: e.value },
            hlc: hlcAt(t0 + e.dt, e.device, e.counter),
          }));
          if (withDelete)
            ops.push({
              opId: opId(),
              type: "delete",
              entity: "announcements",
              id,
              hlc: hlcAt(t0 + 1, "dev-z"),
            });
          // Arrival order: a seeded shuffle, one push per op.
          const order = ops
            .map((op, i) => ({ op, k: (seed * (i + 7919)) % 104_729 }))
            .sort((x, y) => x.k - y.k);
          for (const { op } of order) await push(t, b.manager, [op], op.hlc.split("-").slice(2).join("-"));
          const snap = (await pull(t, b.manager, { [b.id]: null })).body;
          const row = snap.changes.announcements?.created.find((r) => r.id === id);
          if (withDelete) {
            expect(row).toBeUndefined();
            return;
          }
          const expected: Record<string, string> = { title: "t0", body: "b0" };
          for (const f of ["title", "body"]) {
            const winner = ops
              .filter((o) => o.fields[f] !== undefined)
              .sort((x, y) => (x.hlc < y.hlc ? 1 : -1))[0];
            if (winner) expected[f] = winner.fields[f];
          }
          expect(row).toMatchObject(expected);
        },
      ),
      { numRuns: 100 },
    );
  }, 300_000);
});
