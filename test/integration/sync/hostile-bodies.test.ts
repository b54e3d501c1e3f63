/**
 * Issue 14, defect 6, and hostile strings around sync: a pull's `pending` map takes synced entity
 * names only, with bounded whole counts (anything else: 400 problem+json, no sync_state row); a
 * push's invented pending keys are left unrecorded without refusing its edits; hostile cursors,
 * building keys, device ids and entity names answer 400 or a rejected op, never a 500.
 */
import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryRows } from "../../../src/platform/db";
import { SYNC_ENTITIES } from "../../../src/protocol/sync";
import { createTestApp, type TestApp } from "../../support/app";
import { DB_KINDS } from "../../support/db";
import { createBuilding, json, type TestBuilding } from "../../support/fixtures";
import { hlcAt, opId } from "./helpers";

const HOSTILE = [
  "\u0000",
  "\ud800",
  "\udfff",
  "a\u0000b",
  "\u202e",
  "😀",
  "__proto__",
  "constructor",
  "x".repeat(65),
];

const unstorable = (s: string) =>
  s.includes("\u0000") || !(s as string & { isWellFormed(): boolean }).isWellFormed();

describe.each(DB_KINDS)("sync bodies with invented or hostile parts on %s", (kind) => {
  let t: TestApp;
  let b: TestBuilding;
  beforeAll(async () => {
    t = await createTestApp({ db: kind });
    b = await createBuilding(t.services);
  });
  afterAll(() => t.close());

  const stateRows = async (userId: string) =>
    (
      await queryRows<{ entity_type: string; pending_ops: number }>(
        t.services.database.db,
        sql`select entity_type, pending_ops from sync_state where user_id = ${userId} order by entity_type`,
      )
    ).map((r) => [r.entity_type, Number(r.pending_ops)]);

  /** A raw JSON body (hostile strings kept exactly as written, escapes included). */
  const post = (path: string, body: string, user = b.manager) =>
    t.request(`/api/v1/sync/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...user.auth },
      body,
    });

  const expectProblem = async (res: Response, status: number) => {
    expect(res.status).toBe(status);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    const body = (await res.json()) as Record<string, any>;
    expect(body).toMatchObject({ status, code: "VALIDATION_FAILED", correlationId: expect.any(String) });
    return body;
  };

  it("answers a pull with 10,000 invented pending keys 400, writing no sync state", async () => {
    const user = b.neighbour;
    const pending = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`entity_${i}`, 1]));
    const res = await t.request(
      "/api/v1/sync/pull",
      json({ deviceId: "dev-flood", buildings: { [b.id]: null }, pending }, user.auth),
    );
    const problem = await expectProblem(res, 400);
    expect(problem.errors.length).toBeGreaterThan(0);
    expect(problem.errors.length).toBeLessThanOrEqual(100);
    expect(problem.errors[0]).toMatchObject({
      path: "body.pending.entity_0",
      message: "not a synced entity",
    });
    expect(problem.detail).toContain("10000 keys");
    expect(await stateRows(user.id)).toEqual([]);
  });

  it("answers 400 for any pending key that is not a synced entity, or a count out of bounds", async () => {
    const user = b.neighbour;
    const bad: Array<Record<string, unknown>> = [
      // (A "__proto__" key never reaches the verb: parsing the body into a record drops it.)
      ...HOSTILE.filter((k) => k !== "__proto__").map((k) => ({ [k]: 1 })),
      { APARTMENTS: 1 },
      { apartments: 1, payment: 2 },
      { apartments: -1 },
      { apartments: 1.5 },
      { apartments: 1_000_001 },
      { apartments: "3" },
      { apartments: null },
    ];
    for (const pending of bad) {
      const res = await t.request(
        "/api/v1/sync/pull",
        json({ deviceId: "dev-bad", buildings: { [b.id]: null }, pending }, user.auth),
      );
      await expectProblem(res, 400);
    }
    expect(await stateRows(user.id)).toEqual([]);
  });

  it("records a pull's counts for synced entities", async () => {
    const user = b.resident;
    const pending = { announcements: 0, maintenance_requests: 3, request_comments: 1_000_000 };
    const res = await t.request(
      "/api/v1/sync/pull",
      json({ deviceId: "dev-ok", buildings: { [b.id]: null }, pending }, user.auth),
    );
    expect(res.status).toBe(200);
    expect(await stateRows(user.id)).toEqual(
      [...SYNC_ENTITIES].sort().map((e) => [e, (pending as Record<string, number>)[e] ?? 0]),
    );
  });

  it("applies a push whose pending map is invented, recording only synced entities", async () => {
    const user = await createBuilding(t.services).then((x) => x.manager);
    const building = (
      await queryRows<{ building_id: string }>(
        t.services.database.db,
        sql`select building_id from memberships where user_id = ${user.id}`,
      )
    )[0]!.building_id;
    const pending = {
      ...Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`entity_${i}`, 1])),
      announcements: 2,
    };
    const op = {
      opId: opId("flood"),
      type: "create",
      entity: "announcements",
      id: randomUUID(),
      fields: { buildingId: building, title: "Flood", body: "x" },
      hlc: hlcAt(Date.now()),
    };
    const res = await t.request(
      "/api/v1/sync/push",
      json({ deviceId: "dev-flood", ops: [op], pending }, user.auth),
    );
    expect(res.status).toBe(200);
    expect((await res.json()).results[0]).toMatchObject({ status: "applied" });
    expect(await stateRows(user.id)).toEqual([["announcements", 2]]);
  });

  it("answers hostile cursors, building keys, device ids and limits with 400, never 500", async () => {
    const b64 = JSON.stringify(b.id);
    const bodies = [
      `{"buildings":{${b64}:"\\u0000"}}`,
      `{"buildings":{${b64}:"\\ud800"}}`,
      `{"buildings":{${b64}:-1}}`,
      `{"buildings":{${b64}:1.5}}`,
      `{"buildings":{${b64}:1e308}}`,
      `{"buildings":{${b64}:9007199254740993}}`,
      `{"buildings":{${b64}:{"v":1}}}`,
      `{"buildings":{${b64}:[1]}}`,
      `{"buildings":{"\\u0000":null}}`,
      `{"buildings":{"\\ud800":null}}`,
      `{"buildings":{"${b.id}\\u0000":null}}`,
      `{"buildings":{"__proto__":null}}`,
      `{"buildings":{}}`,
      `{"buildings":{${b64}:null},"deviceId":"dev\\u0000"}`,
      `{"buildings":{${b64}:null},"deviceId":"\\ud800"}`,
      `{"buildings":{${b64}:null},"limit":"\\u0000"}`,
      `{"buildings":{${b64}:null},"limit":0}`,
      `{"buildings":{${b64}:null},"\\u0000":1}`,
      `{"buildings":"\\u0000"}`,
    ];
    for (const body of bodies) await expectProblem(await post("pull", body), 400);
  });

  it("answers a push with a hostile device id or ops list 400, and hostile entity names with rejected ops", async () => {
    const op = (entity: string) => ({
      opId: opId("ent"),
      type: "create",
      entity,
      id: randomUUID(),
      fields: { buildingId: b.id, title: "t", body: "x" },
      hlc: hlcAt(Date.now()),
    });
    for (const deviceId of ["dev\u0000", "\ud800", "😀", ""]) {
      const res = await t.request(
        "/api/v1/sync/push",
        json({ deviceId, ops: [op("announcements")] }, b.manager.auth),
      );
      await expectProblem(res, 400);
    }
    await expectProblem(await post("push", `{"deviceId":"d","ops":"\\u0000"}`), 400);
    const ops = HOSTILE.map(op);
    const res = await t.request("/api/v1/sync/push", json({ deviceId: "dev-ent", ops }, b.manager.auth));
    expect(res.status).toBe(200);
    const { results } = (await res.json()) as { results: Array<{ status: string; reason: string }> };
    expect(results.map((r) => r.status)).toEqual(HOSTILE.map(() => "rejected"));
    for (const [i, e] of HOSTILE.entries())
      if (unstorable(e)) expect(results[i]!.reason).toBe("INVALID_TEXT");
      else expect(["UNKNOWN_ENTITY", "INVALID_OP"]).toContain(results[i]!.reason);
  });
});
