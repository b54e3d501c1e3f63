/**
 * Model-based convergence suite (run per engine by model-pglite/model-pg.test.ts, in parallel):
 * three SDK clients (two managers' devices and a resident), each with its own clock skew, make
 * random offline edits (field values with RTL marks, emoji, and now and then a NUL or a lone
 * surrogate) against the real app while the network drops, duplicates (also two copies in the
 * database at once), delays and reorders their requests and answers 429/503/500/502 in the app's
 * place; while clients restart cleanly, crash with a torn store write, or lose their store
 * (app data cleared, same device id); while two clients push at once; and while the server
 * restarts. After quiescence: every client's state equals the server's view for its user, the
 * server equals a reference last-write-wins model of every op it did not refuse, no op was
 * applied twice, no op id was ever used for two ops, hostile text was refused op by op, the app
 * answered nothing but 200 (or its own 429), and every error the SDK reported was a transient
 * fault the network injected.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SyncClient } from "../../../src/client/sync/client";
import { FileStore } from "../../../src/client/sync/file-store";
import { type LocalStore, MemoryStore } from "../../../src/client/sync/store";
import { type RejectedOp, SyncHttpError } from "../../../src/client/sync/support";
import { queryRows } from "../../../src/platform/db";
import type { SyncEntity } from "../../../src/protocol/sync";
import { createTestApp, type TestApp } from "../../support/app";
import type { DbKind } from "../../support/db";
import { createBuilding, type TestBuilding, type TestUser } from "../../support/fixtures";
import { FAULTS, type Fault, INJECTED_STATUS, Network } from "./harness";
import { pull } from "./helpers";

const RUNS = Number(process.env.SYNC_MODEL_RUNS ?? 100);
const BASE = "http://horizon.test/api/v1";

type Step =
  | { kind: "edit"; client: number; action: number; pick: number; text: string }
  | { kind: "sync"; client: number }
  | { kind: "together"; a: number; b: number }
  | { kind: "deliver"; pick: number }
  | { kind: "restart"; client: number }
  | { kind: "crash"; client: number; pick: number }
  | { kind: "wipe"; client: number }
  | { kind: "serverRestart"; pick: number };
const STEP_KINDS: Step["kind"][] = [
  "edit",
  "sync",
  "together",
  "deliver",
  "restart",
  "crash",
  "wipe",
  "serverRestart",
];

/** Text the server must store as sent: RTL and letter marks, a 4-byte emoji, a ZWJ sequence. */
const VALID = ["a", "b", "é", "\u202e", "\u200f", "\u061c", "🏠", "👩‍👩‍👧"];
/** Text PostgreSQL cannot store: the op must be refused (INVALID_TEXT), never a 5xx. */
const INVALID = ["\u0000", "\ud800", "\udfff"];
const textArb = fc.oneof(
  {
    weight: 9,
    arbitrary: fc
      .array(fc.constantFrom(...VALID), { minLength: 1, maxLength: 4 })
      .map((p) => `v${p.join("")}`),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.array(fc.constantFrom(...VALID), { maxLength: 2 }), fc.constantFrom(...INVALID))
      .map(([p, bad]) => `v${p.join("")}${bad}`),
  },
);
// biome-ignore lint/suspicious/noControlCharactersInRegex: a NUL is exactly what it looks for.
const BAD_TEXT = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const hasBadText = (op: { fields?: Record<string, unknown> }) =>
  Object.values(op.fields ?? {}).some((v) => typeof v === "string" && BAD_TEXT.test(v));

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("edit" as const),
      client: fc.nat(2),
      action: fc.nat(99),
      pick: fc.nat(99),
      text: textArb,
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("sync" as const), client: fc.nat(2) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("together" as const), a: fc.nat(2), b: fc.nat(2) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("deliver" as const), pick: fc.nat(99) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("restart" as const), client: fc.constantFrom(0, 2) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("crash" as const),
      client: fc.constantFrom(0, 2),
      pick: fc.nat(999),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("wipe" as const), client: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("serverRestart" as const), pick: fc.nat(255) }) },
);
const faultArb = fc.constantFrom<Fault>("ok", "ok", "ok", ...FAULTS.filter((f) => f !== "ok"));
/** Client clock offsets: exact, a day and a half behind, ten minutes and three years ahead (both clamped). */
const SKEWS = [0, -36 * 3_600_000, 10 * 60_000, 3 * 365 * 86_400_000];
const skewArb = fc.tuple(fc.constantFrom(...SKEWS), fc.constantFrom(...SKEWS), fc.constantFrom(...SKEWS));

interface Slot {
  user: TestUser;
  device: string;
  durable: boolean;
  dir: string;
  skew: number;
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

/**
 * Reference LWW model over the ops the server did not refuse, at the clock it kept (a clock from
 * the future is clamped): per-field max clock, delete wins, a deleted parent takes its children.
 */
function referenceModel(pushed: Array<{ op: any; result: any }>) {
  const ops = pushed
    .filter((o) => o.result?.status !== "rejected")
    .map((o) => ({ op: { ...o.op, hlc: o.result?.clampedHlc ?? o.op.hlc } }));
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

/** A crash in the middle of the store's last write, on a filesystem that tore it (see file-store.ts). */
async function tearStore(dir: string, pick: number): Promise<string> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith(".json"));
  const variant = pick % 3;
  if (variant === 2 || names.length === 0) {
    // The usual crash: the temp file of the write in progress is half written, never renamed.
    await writeFile(join(dir, `queue.json.${pick}.crash.tmp`), '{"queue":[{"opId":"');
    return "tmp";
  }
  const name = names.includes("queue.json") && variant === 0 ? "queue.json" : names[0]!;
  const size = (await readFile(join(dir, name))).length;
  await truncate(join(dir, name), Math.floor((size * (pick % 97)) / 97));
  return name;
}

export function defineModelSuite(kind: DbKind) {
  describe(`sync convergence model on ${kind}`, () => {
    let t: TestApp;
    let root: string;
    beforeAll(async () => {
      t = await createTestApp({ db: kind });
      root = await mkdtemp(join(tmpdir(), "horizon-sync-model-"));
    });
    afterAll(async () => {
      await t.close();
      await rm(root, { recursive: true, force: true });
    });

    it(`converges to the LWW model under faults, crashes, wipes and server restarts (${RUNS} runs)`, async () => {
      let run = 0;
      const schedules = new Set<string>();
      const stepsSeen = new Map<string, number>();
      const faultsSeen = new Map<string, number>();
      const reasons = new Map<string, number>();
      let transientErrors = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(stepArb, { minLength: 30, maxLength: 60 }),
          fc.array(faultArb, { minLength: 1, maxLength: 40 }),
          skewArb,
          async (steps, faults, skews) => {
            const b = await createBuilding(t.services);
            const net = new Network(t, faults);
            const people: Array<[TestUser, string, boolean]> = [
              [b.manager, "m1", true],
              [b.manager, "m2", false],
              [b.resident, "r1", true],
            ];
            const slots: Slot[] = [];
            /** Errors the SDK reported while its process was alive, and ops it was told were refused. */
            const errors: Array<{ client: number; error: unknown; retryInMs: number }> = [];
            const refused: Array<{ client: number } & RejectedOp> = [];
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
                now: () => Date.now() + skews[i]!,
              });
              client.on("error", (e) => {
                if (alive.v) errors.push({ client: i, error: e.error, retryInMs: e.retryInMs });
              });
              client.on("rejected", (e) => {
                for (const r of e.ops) refused.push({ client: i, ...r });
              });
              slots[i] = { user, device, durable, dir, skew: skews[i]!, store, client, alive, running: null };
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
            const begin = (i: number) => {
              const s = slots[i]!;
              if (!s.running) {
                // Failures are not lost here: the client's error events are recorded and checked below.
                const p = s.client.syncNow().catch(() => {});
                s.running = p.finally(() => {
                  if (s.running === wrapped) s.running = null;
                });
                const wrapped = s.running;
              }
            };
            const startSync = (i: number) => {
              begin(i);
              return settle(i);
            };
            /** The process dies: memory is lost; what the store made durable stays. */
            const kill = async (i: number) => {
              const s = slots[i]!;
              s.alive.v = false;
              await s.store.close();
            };

            for (const step of steps) {
              stepsSeen.set(step.kind, (stepsSeen.get(step.kind) ?? 0) + 1);
              if (step.kind === "edit") {
                net.trace.push(`e${step.client}`);
                await edit(slots[step.client]!, b, step);
              } else if (step.kind === "sync") {
                net.trace.push(`s${step.client}`);
                await startSync(step.client);
              } else if (step.kind === "together") {
                // Two devices push at once: both requests are in the app (and the database) together.
                net.trace.push(`t${step.a}${step.b}`);
                begin(step.a);
                begin(step.b);
                await Promise.all([...new Set([step.a, step.b])].map(settle));
              } else if (step.kind === "deliver" && net.held.length) {
                const at = step.pick % net.held.length;
                net.trace.push(`d${at}`);
                const [h] = net.held.splice(at, 1);
                await h!.deliver();
                if (h!.client >= 0) await settle(h!.client);
              } else if (step.kind === "restart") {
                net.trace.push(`r${step.client}`);
                const s = slots[step.client]!;
                await kill(step.client);
                await openClient(step.client, s.user, s.device, true, s.dir);
              } else if (step.kind === "crash") {
                // A crash that tore the store's last write, instead of a clean close.
                const s = slots[step.client]!;
                await kill(step.client);
                net.trace.push(`c${step.client}${await tearStore(s.dir, step.pick)}`);
                await openClient(step.client, s.user, s.device, true, s.dir);
              } else if (step.kind === "wipe") {
                // App data cleared (or a reinstall): an empty store, the same device id.
                net.trace.push(`w${step.client}`);
                const s = slots[step.client]!;
                await kill(step.client);
                if (s.durable) await rm(s.dir, { recursive: true, force: true });
                await openClient(step.client, s.user, s.device, s.durable, s.dir);
              } else if (step.kind === "serverRestart") {
                net.trace.push(`R${step.pick}`);
                await net.restartServer(step.pick);
                for (const i of slots.keys()) await settle(i);
              }
            }

            // Quiescence: the network heals, stray packets land, everyone syncs until nothing is queued.
            net.faultsOn = false;
            while (net.held.length)
              await net.held
                .shift()!
                .deliver()
                .catch(() => {}); // a stray's failure is in net.bad already
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
            schedules.add(createHash("sha256").update(net.trace.join(",")).digest("hex"));
            for (const [f, n] of net.applied) faultsSeen.set(f, (faultsSeen.get(f) ?? 0) + n);
            if (process.env.SYNC_MODEL_DEBUG)
              console.log(
                `run ${run}: ${steps.length} steps, ${net.trace.length} decisions, ${Date.now() - started} ms`,
              );

            // 0. The app answered nothing but 200 (or its own 429); every error the SDK reported
            // was a fault the network injected, and a retry was scheduled for it.
            expect(net.bad).toEqual([]);
            for (const e of errors) {
              const transient =
                e.error instanceof TypeError ||
                (e.error instanceof SyncHttpError &&
                  Object.values(INJECTED_STATUS).includes(e.error.status) &&
                  (e.error.status !== 429 || e.error.code === "RATE_LIMITED"));
              expect(transient, `client ${e.client}: ${String(e.error)}`).toBe(true);
              if (e.error instanceof SyncHttpError && e.error.retryAfterMs !== undefined)
                expect(e.retryInMs).toBeGreaterThanOrEqual(e.error.retryAfterMs);
            }
            transientErrors += errors.length;

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
            const pushed = [...net.ops.values()];
            const model = referenceModel(pushed);
            const server = await serverRows(t, b.id);
            expect(
              Object.fromEntries(Object.entries(server).map(([e, r]) => [e, Object.keys(r).sort()])),
            ).toEqual(Object.fromEntries(Object.entries(model).map(([e, r]) => [e, Object.keys(r).sort()])));
            expect(project(server, model)).toEqual(model);
            // 3. Refusals: hostile text op by op, never an op id used twice (a wiped or torn store
            // starts a new stream), and each refusal the SDK reported is the one the server gave.
            for (const { op, result } of pushed) {
              if (result.status === "rejected")
                reasons.set(result.reason, (reasons.get(result.reason) ?? 0) + 1);
              expect(result.reason).not.toBe("OP_ID_REUSED");
              expect(["INVALID_OP", "INVALID_HLC"]).not.toContain(result.reason);
              if (hasBadText(op))
                expect(result).toMatchObject({ status: "rejected", reason: "INVALID_TEXT" });
              else expect(result.reason).not.toBe("INVALID_TEXT");
            }
            for (const r of refused) {
              expect(net.ops.get(r.op.opId)?.result, r.op.opId).toMatchObject({
                status: "rejected",
                reason: r.reason,
              });
            }
            // 4. No op applied twice: one record per op (runs never overlap), every replay answered
            // the first result. Ops refused before they were applied may go unrecorded.
            for (const [, results] of net.results) for (const r of results) expect(r).toEqual(results[0]);
            const [processed] = await queryRows<{ n: number }>(
              t.services.database.db,
              sql`select coalesce(sum(last_seq - first_seq + 1), 0)::int as n from sync_op_runs where user_id in (${b.manager.id}, ${b.resident.id})`,
            );
            const badText = pushed.filter((o) => o.result.reason === "INVALID_TEXT").length;
            expect([net.ops.size, net.ops.size - badText]).toContain(processed!.n);
            const dupConflicts = await queryRows(
              t.services.database.db,
              sql`select op_id from sync_conflicts where building_id = ${b.id} group by op_id, field having count(*) > 1`,
            );
            expect(dupConflicts).toEqual([]);
            for (const s of slots) await s.store.close();
            await net.close();
          },
        ),
        { numRuns: RUNS },
      );
      // Distinct schedules actually run: the hash of each run's trace (steps as executed, each
      // request's fault). And every fault and step kind really happened somewhere.
      console.log(
        `sync model on ${kind}: ${schedules.size} distinct schedules in ${run} runs; steps ${JSON.stringify(
          Object.fromEntries(stepsSeen),
        )}; faults ${JSON.stringify(Object.fromEntries(faultsSeen))}; refusals ${JSON.stringify(
          Object.fromEntries(reasons),
        )}; ${transientErrors} transient errors reported`,
      );
      expect(schedules.size).toBe(run);
      // With a handful of runs (SYNC_MODEL_RUNS, for debugging) a kind may rightly not come up.
      if (RUNS >= 50) {
        for (const k of STEP_KINDS) expect(stepsSeen.get(k) ?? 0, k).toBeGreaterThan(0);
        for (const f of FAULTS) expect(faultsSeen.get(f) ?? 0, f).toBeGreaterThan(0);
        expect(reasons.get("INVALID_TEXT") ?? 0).toBeGreaterThan(0);
      }
    }, 1_200_000);
  });
}
