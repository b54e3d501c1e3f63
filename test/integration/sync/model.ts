/**
 * Model-based convergence suite (run per engine by model-pglite/model-pg.test.ts, in parallel): three SDK clients (two managers' devices and a resident) make
 * random offline edits against the real app while the network drops, duplicates, delays and
 * reorders their requests and a client restarts with its memory lost but its durable queue kept.
 * After quiescence: every client's state equals the server's view for its user, the server
 * equals a reference last-write-wins model of all pushed ops, and no op was applied twice.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SyncClient } from "../../../src/client/sync/client";
import { FileStore } from "../../../src/client/sync/file-store";
import type { SyncEntity } from "../../../src/client/sync/protocol";
import { type LocalStore, MemoryStore } from "../../../src/client/sync/store";
import { queryRows } from "../../../src/platform/db";
import { createTestApp, type TestApp } from "../../support/app";
import type { DbKind } from "../../support/db";
import { createBuilding, type TestBuilding, type TestUser } from "../../support/fixtures";
import { type Fault, Network } from "./harness";
import { pull } from "./helpers";

const RUNS = Number(process.env.SYNC_MODEL_RUNS ?? 100);
const BASE = "http://horizon.test/api/v1";

type Step =
  | { kind: "edit"; client: number; action: number; pick: number; text: string }
  | { kind: "sync"; client: number }
  | { kind: "deliver"; pick: number }
  | { kind: "restart"; client: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("edit" as const),
      client: fc.nat(2),
      action: fc.nat(99),
      pick: fc.nat(99),
      text: fc.string({ minLength: 1, maxLength: 6 }).map((s) => `v${s.trim() || "x"}`),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("sync" as const), client: fc.nat(2) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("deliver" as const), pick: fc.nat(99) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("restart" as const), client: fc.constantFrom(0, 2) }),
  },
);
const faultArb = fc.constantFrom<Fault>("ok", "ok", "ok", "dropReq", "dropRes", "dup", "dupLater", "delay");

interface Slot {
  user: TestUser;
  device: string;
  durable: boolean;
  dir: string;
  store: LocalStore;
  client: SyncClient;
  alive: { v: boolean };
  running: Promise<void> | null;
}

const CONTENT: Record<string, string[]> = {
  announcements: ["title", "body", "priority"],
  maintenance_requests: ["title", "priority", "status"],
  request_comments: ["body"],
};
const PARENT: Record<string, [string, string] | undefined> = {
  request_comments: ["requestId", "maintenance_requests"],
};

/** Reference LWW model: per-field max clock, delete wins, a deleted parent takes its children. */
function referenceModel(ops: Array<{ op: any }>) {
  const rows = new Map<
    string,
    { entity: string; fields: Record<string, { v: unknown; h: string }>; deleted: boolean; parent?: string }
  >();
  const key = (e: string, id: string) => `${e}:${id}`;
  for (const { op } of ops.filter((o) => o.op.type === "create")) {
    const fields: Record<string, { v: unknown; h: string }> = {};
    for (const f of CONTENT[op.entity]!)
      if (op.fields[f] !== undefined) fields[f] = { v: op.fields[f], h: op.hlc };
    const p = PARENT[op.entity];
    rows.set(key(op.entity, op.id), {
      entity: op.entity,
      fields,
      deleted: false,
      parent: p ? key(p[1], op.fields[p[0]]) : undefined,
    });
  }
  for (const { op } of ops) {
    const row = rows.get(key(op.entity, op.id));
    if (!row) continue;
    if (op.type === "delete") row.deleted = true;
    if (op.type === "update") {
      for (const [f, v] of Object.entries(op.fields as Record<string, unknown>)) {
        const cur = row.fields[f];
        if (!cur || op.hlc > cur.h) row.fields[f] = { v, h: op.hlc };
      }
    }
  }
  const live = (k: string): boolean => {
    const r = rows.get(k);
    return !!r && !r.deleted && (!r.parent || live(r.parent));
  };
  const out: Record<string, Record<string, Record<string, unknown>>> = {
    announcements: {},
    maintenance_requests: {},
    request_comments: {},
  };
  for (const [k, r] of rows) {
    if (!live(k)) continue;
    out[r.entity]![k.split(":")[1]!] = Object.fromEntries(Object.entries(r.fields).map(([f, x]) => [f, x.v]));
  }
  return out;
}

async function serverRows(t: TestApp, buildingId: string) {
  const out: Record<string, Record<string, Record<string, unknown>>> = {};
  for (const [entity, fields] of Object.entries(CONTENT)) {
    const cols = sql.join(
      fields.map((f) => sql.identifier(f)),
      sql`, `,
    );
    const rows = await queryRows<Record<string, unknown>>(
      t.services.database.db,
      sql`select id, ${cols} from ${sql.identifier(entity)} where building_id = ${buildingId} and deleted_at is null`,
    );
    out[entity] = Object.fromEntries(rows.map(({ id, ...rest }) => [String(id), rest]));
  }
  return out;
}

/** Projects the model onto the fields each row actually set (server defaults fill the rest). */
function project(
  server: Record<string, Record<string, Record<string, unknown>>>,
  model: ReturnType<typeof referenceModel>,
) {
  const out: typeof model = {};
  for (const [entity, rows] of Object.entries(server)) {
    out[entity] = {};
    for (const [id, row] of Object.entries(rows)) {
      out[entity]![id] = Object.fromEntries(Object.keys(model[entity]?.[id] ?? {}).map((f) => [f, row[f]]));
    }
  }
  return out;
}

function edit(slot: Slot, b: TestBuilding, step: Extract<Step, { kind: "edit" }>) {
  const c = slot.client;
  const manager = slot.user.id === b.manager.id;
  const pickOf = <T>(list: T[]) => (list.length ? list[step.pick % list.length] : undefined);
  const anns = c.list("announcements");
  const reqs = c.list("maintenance_requests");
  const comments = c
    .list("request_comments")
    .filter((r) => r.authorId === slot.user.id || r.authorId === undefined);
  const a = step.action % (manager ? 8 : 6);
  const v = step.text;
  if (manager) {
    if (a === 0 || !anns.length) return c.create("announcements", { buildingId: b.id, title: v, body: v });
    if (a === 1) return c.update("announcements", pickOf(anns)!.id, { title: v });
    if (a === 2)
      return c.update("announcements", pickOf(anns)!.id, {
        body: v,
        priority: step.pick % 2 ? "urgent" : "normal",
      });
    if (a === 3) return c.delete("announcements", pickOf(anns)!.id);
    const r = pickOf(reqs);
    if (!r) return c.create("announcements", { buildingId: b.id, title: v, body: v });
    if (a === 4)
      return c.update("maintenance_requests", r.id, {
        status: ["open", "in_progress", "resolved"][step.pick % 3],
        title: v,
      });
    if (a === 5 && step.pick % 4 === 0) return c.delete("maintenance_requests", r.id);
    return c.create("request_comments", { buildingId: b.id, requestId: r.id, body: v });
  }
  const r = pickOf(reqs);
  if (a === 0 || !r)
    return c.create("maintenance_requests", { buildingId: b.id, apartmentId: b.apartments[0]!.id, title: v });
  if (a === 1) return c.update("maintenance_requests", r.id, { title: v });
  if (a === 2) return c.update("maintenance_requests", r.id, { priority: step.pick % 2 ? "high" : "low" });
  const own = pickOf(comments);
  if (a === 3 && own) return c.update("request_comments", own.id, { body: v });
  if (a === 4 && own && step.pick % 3 === 0) return c.delete("request_comments", own.id);
  return c.create("request_comments", { buildingId: b.id, requestId: r.id, body: v });
}

export function defineModelSuite(kind: DbKind) {
  describe(`sync convergence model on ${kind}`, () => {
    let t: TestApp;
    let root: string;
    let interleavings = 0;
    beforeAll(async () => {
      t = await createTestApp({ db: kind });
      root = await mkdtemp(join(tmpdir(), "horizon-sync-model-"));
    });
    afterAll(async () => {
      await t.close();
      await rm(root, { recursive: true, force: true });
    });

    it(`converges to the LWW model under faults and restarts (${RUNS} runs)`, async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(stepArb, { minLength: 30, maxLength: 60 }),
          fc.array(faultArb, { minLength: 1, maxLength: 40 }),
          async (steps, faults) => {
            const b = await createBuilding(t.services);
            const net = new Network(t, faults);
            const people: Array<[TestUser, string, boolean]> = [
              [b.manager, "m1", true],
              [b.manager, "m2", false],
              [b.resident, "r1", true],
            ];
            const slots: Slot[] = [];
            const openClient = async (
              i: number,
              user: TestUser,
              device: string,
              durable: boolean,
              dir: string,
            ) => {
              const alive = { v: true };
              const store = durable ? new FileStore(dir) : new MemoryStore();
              const client = await SyncClient.open({
                baseUrl: BASE,
                fetch: net.fetchFor(i, user.id, () => alive.v),
                token: () => user.token,
                store,
                buildings: [b.id],
                deviceId: device,
                intervalMs: 0,
                pullLimit: 7,
              });
              slots[i] = { user, device, durable, dir, store, client, alive, running: null };
            };
            run++;
            const started = Date.now();
            for (const [i, [user, device, durable]] of people.entries()) {
              await openClient(i, user, device, durable, join(root, `${kind}-${run}-${i}`));
            }
            // Runs client i until it finishes its cycle or blocks on a held request.
            const settle = async (i: number) => {
              const s = slots[i]!;
              if (!s.running || net.held.some((h) => h.client === i)) return;
              await Promise.race([s.running, net.parked(i)]);
            };
            const startSync = (i: number) => {
              const s = slots[i]!;
              if (!s.running) {
                const p = s.client.syncNow().catch(() => {});
                s.running = p.finally(() => {
                  if (s.running === wrapped) s.running = null;
                });
                const wrapped = s.running;
              }
              return settle(i);
            };

            for (const step of steps) {
              net.decisions++;
              if (step.kind === "edit") await edit(slots[step.client]!, b, step);
              else if (step.kind === "sync") await startSync(step.client);
              else if (step.kind === "deliver" && net.held.length) {
                const [h] = net.held.splice(step.pick % net.held.length, 1);
                await h!.deliver();
                if (h!.client >= 0) await settle(h!.client);
              } else if (step.kind === "restart") {
                // The process dies (maybe with a request in flight); memory is lost, files stay.
                const s = slots[step.client]!;
                s.alive.v = false;
                await s.store.close();
                await openClient(step.client, s.user, s.device, true, s.dir);
              }
            }

            // Quiescence: the network heals, stray packets land, everyone syncs until nothing is queued.
            net.faultsOn = false;
            while (net.held.length)
              await net.held
                .shift()!
                .deliver()
                .catch(() => {});
            for (
              let round = 0;
              round < 10 && slots.some((s) => s.client.pending() > 0 || round < 2);
              round++
            ) {
              for (const [i, s] of slots.entries()) {
                if (s.running) await s.running;
                await startSync(i);
                await s.running;
              }
            }
            interleavings += net.decisions;
            if (process.env.SYNC_MODEL_DEBUG)
              console.log(
                `run ${run}: ${steps.length} steps, ${net.decisions} decisions, ${Date.now() - started} ms`,
              );

            for (const s of slots) expect(s.client.pending()).toBe(0);
            // 1. Each client equals the server's view for its user.
            for (const s of slots) {
              const snap = (await pull(t, s.user, { [b.id]: null })).body;
              for (const entity of [
                "announcements",
                "maintenance_requests",
                "request_comments",
                "apartments",
              ] as SyncEntity[]) {
                const server = Object.fromEntries(
                  (snap.changes[entity]?.created ?? []).map((r) => [r.id, r]),
                );
                const local = Object.fromEntries(s.client.list(entity).map((r) => [r.id, r]));
                expect(local).toEqual(server);
              }
            }
            // 2. The server equals the reference model.
            const model = referenceModel([...net.ops.values()]);
            const server = await serverRows(t, b.id);
            expect(
              Object.fromEntries(Object.entries(server).map(([e, r]) => [e, Object.keys(r).sort()])),
            ).toEqual(Object.fromEntries(Object.entries(model).map(([e, r]) => [e, Object.keys(r).sort()])));
            expect(project(server, model)).toEqual(model);
            // 3. No op applied twice: one record per op (runs never overlap), every replay answered the first result.
            for (const [, results] of net.results) for (const r of results) expect(r).toEqual(results[0]);
            const [processed] = await queryRows<{ n: number }>(
              t.services.database.db,
              sql`select coalesce(sum(last_seq - first_seq + 1), 0)::int as n from sync_op_runs where user_id in (${b.manager.id}, ${b.resident.id})`,
            );
            expect(processed!.n).toBe(net.ops.size);
            const dupConflicts = await queryRows(
              t.services.database.db,
              sql`select op_id from sync_conflicts where building_id = ${b.id} group by op_id, field having count(*) > 1`,
            );
            expect(dupConflicts).toEqual([]);
            for (const s of slots) await s.store.close();
          },
        ),
        { numRuns: RUNS },
      );
      // Scheduler decisions (steps and per-request network choices) across all runs.
      expect(interleavings).toBeGreaterThanOrEqual(RUNS * 20);
      console.log(`sync model on ${kind}: ${interleavings} interleavings in ${RUNS} runs`);
    }, 600_000);
  });
}
