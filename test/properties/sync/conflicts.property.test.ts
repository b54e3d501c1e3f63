import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryRows } from "../../../src/platform/db";
import { hlcAt, opId, push } from "../../integration/sync/helpers";
import { createTestApp, type TestApp } from "../../support/app";
import { createBuilding } from "../../support/fixtures";

describe("sync conflicts", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ db: "pglite" });
  });
  afterAll(() => t.close());

  it("Property 26: Unresolvable conflict handling — every losing or unappliable edit is logged for its author with both sides and raises a notification event", async () => {
    const scenario = fc.constantFrom(
      "older-field",
      "update-deleted",
      "comment-deleted-parent",
      "edit-comment-deleted-parent",
    );
    await fc.assert(
      fc.asyncProperty(
        scenario,
        fc.integer({ min: 1, max: 10_000 }),
        fc.stringMatching(/^[A-Za-z0-9]{1,10}$/),
        async (kind, lag, text) => {
          const b = await createBuilding(t.services);
          const req = randomUUID();
          const comment = randomUUID();
          const t0 = Date.now();
          await push(
            t,
            b.resident,
            [
              {
                opId: opId(),
                type: "create",
                entity: "maintenance_requests",
                id: req,
                fields: { buildingId: b.id, apartmentId: b.apartments[0]!.id, title: "Leak" },
                hlc: hlcAt(t0, "r"),
              },
              {
                opId: opId(),
                type: "create",
                entity: "request_comments",
                id: comment,
                fields: { buildingId: b.id, requestId: req, body: "first" },
                hlc: hlcAt(t0, "r"),
              },
            ],
            "r",
          );
          const value = `x${text}`;
          let losing: any;
          if (kind === "older-field") {
            await push(
              t,
              b.manager,
              [
                {
                  opId: opId(),
                  type: "update",
                  entity: "maintenance_requests",
                  id: req,
                  fields: { title: "Manager's" },
                  hlc: hlcAt(t0 + lag + 1, "m"),
                },
              ],
              "m",
            );
            losing = {
              opId: opId(),
              type: "update",
              entity: "maintenance_requests",
              id: req,
              fields: { title: value },
              hlc: hlcAt(t0 + lag, "r"),
            };
          } else {
            await push(
              t,
              b.manager,
              [
                {
                  opId: opId(),
                  type: "delete",
                  entity: "maintenance_requests",
                  id: req,
                  hlc: hlcAt(t0 + 1, "m"),
                },
              ],
              "m",
            );
            losing =
              kind === "update-deleted"
                ? {
                    opId: opId(),
                    type: "update",
                    entity: "maintenance_requests",
                    id: req,
                    fields: { title: value },
                    hlc: hlcAt(t0 + lag, "r"),
                  }
                : kind === "comment-deleted-parent"
                  ? {
                      opId: opId(),
                      type: "create",
                      entity: "request_comments",
                      id: randomUUID(),
                      fields: { buildingId: b.id, requestId: req, body: value },
                      hlc: hlcAt(t0 + lag, "r"),
                    }
                  : {
                      opId: opId(),
                      type: "update",
                      entity: "request_comments",
                      id: comment,
                      fields: { body: value },
                      hlc: hlcAt(t0 + lag, "r"),
                    };
          }
          const { body } = await push(t, b.resident, [losing], "r");
          expect(body.results[0]!.status === "applied" && !body.results[0]!.superseded).toBe(false);
          const rows = await queryRows<Record<string, any>>(
            t.services.database.db,
            sql`select * from sync_conflicts where op_id = ${losing.opId} and user_id = ${b.resident.id}`,
          );
          expect(rows).toHaveLength(1);
          const c = rows[0]!;
          expect(c.incoming_hlc).toBe(losing.hlc);
          if (kind === "older-field") {
            expect(c).toMatchObject({
              kind: "lww",
              rule: "field-lww",
              field: "title",
              incoming_value: value,
              current_value: "Manager's",
              current_user_id: b.manager.id,
            });
            expect(c.current_hlc).toBe(hlcAt(t0 + lag + 1, "m"));
          } else {
            expect(c.current_hlc).toBe(hlcAt(t0 + 1, "m"));
            expect(c.current_user_id).toBe(b.manager.id);
          }
          const events = await queryRows<{ payload: Record<string, unknown> }>(
            t.services.database.db,
            sql`select payload from outbox where topic = 'sync.conflict' and payload->>'conflictId' = ${c.id}`,
          );
          expect(events).toHaveLength(1);
          expect(events[0]!.payload).toMatchObject({
            userId: b.resident.id,
            opId: losing.opId,
            entity: losing.entity,
          });
          // And the caller can list it.
          const page = await (
            await t.request("/api/v1/sync/conflicts?limit=100", { headers: b.resident.auth })
          ).json();
          expect(page.data.map((x: { id: string }) => x.id)).toContain(c.id);
        },
      ),
      { numRuns: 100 },
    );
  }, 300_000);
});
