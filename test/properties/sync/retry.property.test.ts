import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SyncClient } from "../../../src/client/sync/client";
import { MemoryStore } from "../../../src/client/sync/store";
import { queryRows } from "../../../src/platform/db";
import { createTestApp, type TestApp } from "../../support/app";
import { createBuilding } from "../../support/fixtures";

describe("sync client retry", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ db: "pglite" });
  });
  afterAll(() => t.close());

  it("Property 24: Sync operation retry — a failed sync keeps every op queued and retries with exponential backoff and jitter until it succeeds, applying each op once", async () => {
    const failure = fc.constantFrom("network", "503", "500", "response-lost");
    await fc.assert(
      fc.asyncProperty(
        fc.array(failure, { maxLength: 7 }),
        fc.array(fc.double({ min: 0, max: 0.999, noNaN: true }), { minLength: 8, maxLength: 8 }),
        fc.integer({ min: 1, max: 4 }),
        async (failures, jitter, edits) => {
          const b = await createBuilding(t.services);
          const timers: Array<{ fn: () => void; ms: number }> = [];
          let call = 0;
          let rnd = 0;
          const fetchFn = (async (input: RequestInfo | URL, init?: RequestInit) => {
            const f = failures[call++];
            if (f === "network") throw new TypeError("fetch failed");
            if (f === "503" || f === "500")
              return new Response(JSON.stringify({ code: "DEPENDENCY_UNAVAILABLE" }), { status: Number(f) });
            const res = await t.app.request(String(input), init);
            if (f === "response-lost") throw new TypeError("socket hang up");
            return res;
          }) as typeof fetch;
          const client = await SyncClient.open({
            baseUrl: "http://horizon.test/api/v1",
            fetch: fetchFn,
            token: () => b.manager.token,
            store: new MemoryStore(),
            buildings: [b.id],
            intervalMs: 0,
            backoff: { baseMs: 100, maxMs: 2000 },
            random: () => jitter[rnd++ % jitter.length]!,
            retryWhenStopped: true,
            timers: {
              setTimeout: (fn, ms) => timers.push({ fn, ms }),
              clearTimeout: () => {},
              setInterval: () => 0,
              clearInterval: () => {},
            },
          });
          const ids: string[] = [];
          for (let i = 0; i < edits; i++)
            ids.push(
              await client.create(
                "announcements",
                { buildingId: b.id, title: `t${i}`, body: "b" },
                randomUUID(),
              ),
            );
          const errors: number[] = [];
          client.on("error", (e) => errors.push(e.retryInMs));

          // A failed cycle keeps every op queued (they leave only once a pull confirms them) and
          // the edits stay visible; a successful one empties the queue.
          const checkQueue = (outcome: "synced" | "error") => {
            expect(client.pending(), `after ${outcome}`).toBe(outcome === "error" ? edits : 0);
            expect(client.list("announcements").filter((r) => ids.includes(r.id))).toHaveLength(edits);
          };
          checkQueue(
            await client.syncNow().then(
              () => "synced" as const,
              () => "error" as const,
            ),
          );
          if (process.env.DEBUG_RETRY) console.log("first done", failures, client.pending(), timers.length);
          // Drive the scheduled retries one by one, as the timer would.
          for (let guard = 0; client.pending() > 0 && guard < 20; guard++) {
            expect(timers.length).toBeGreaterThan(0);
            const next = timers.shift()!;
            const outcome = await new Promise<"synced" | "error">((resolve) => {
              const off = client.on("synced", () => {
                off();
                offErr();
                resolve("synced");
              });
              const offErr = client.on("error", () => {
                off();
                offErr();
                resolve("error");
              });
              next.fn();
            });
            checkQueue(outcome);
          }
          expect(client.pending()).toBe(0);
          // Each failed request failed exactly one cycle, and each failed cycle scheduled a retry.
          expect(errors).toHaveLength(failures.length);
          // Every failure scheduled a retry; the n-th waits within [c/2, c], c = min(max, base·2^(n-1)).
          errors.forEach((ms, i) => {
            const ceiling = Math.min(2000, 100 * 2 ** i);
            expect(ms).toBeGreaterThanOrEqual(ceiling / 2);
            expect(ms).toBeLessThanOrEqual(ceiling);
          });
          const rows = client.list("announcements").filter((r) => ids.includes(r.id));
          expect(rows).toHaveLength(edits);
          // Each op applied exactly once although some requests were repeated.
          const [processed] = await queryRows<{ n: number }>(
            t.services.database.db,
            sql`select coalesce(sum(last_seq - first_seq + 1), 0)::int as n from sync_op_runs where user_id = ${b.manager.id}`,
          );
          expect(processed!.n).toBe(edits);
        },
      ),
      { numRuns: Number(process.env.RUNS ?? 100) },
    );
  }, 300_000);
});
