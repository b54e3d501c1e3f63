/**
 * Issue 14, defect 2: a NUL or a lone surrogate anywhere in a pushed op refuses that op alone
 * (INVALID_TEXT); the rest of its batch applies, and nothing answers 500.
 */
import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryRows } from "../../../src/platform/db";
import { createTestApp, type TestApp } from "../../support/app";
import { DB_KINDS } from "../../support/db";
import { createBuilding, json } from "../../support/fixtures";
import { hlcAt, opId, push } from "./helpers";

describe.each(DB_KINDS)("sync push with text the database cannot hold on %s", (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ db: kind });
  });
  afterAll(() => t.close());

  const create = (buildingId: string, title: string, extra: Record<string, unknown> = {}) => ({
    opId: opId("txt"),
    type: "create",
    entity: "announcements",
    id: randomUUID(),
    fields: { buildingId, title, body: "x", ...extra },
    hlc: hlcAt(Date.now()),
  });

  it("refuses each op carrying a NUL or a lone surrogate and applies the rest of the batch", async () => {
    const b = await createBuilding(t.services);
    const good = [
      create(b.id, "Plain"),
      create(b.id, "Emoji 😀👩‍👩‍👧 and RTL \u202eolleh\u202c \u200f"),
      create(b.id, "Pair \ud83d\ude00 written as escapes"),
    ];
    const bad = [
      create(b.id, "nul \u0000 inside"),
      create(b.id, "lone high \ud800"),
      create(b.id, "\udfff lone low"),
      create(b.id, "reversed pair \ude00\ud83d"),
      { ...create(b.id, "body"), fields: { buildingId: b.id, title: "t", body: "x\u0000" } },
      { ...create(b.id, "entity"), entity: "announcements\u0000" },
      { ...create(b.id, "entity"), entity: "\ud800" },
      { ...create(b.id, "key"), fields: { buildingId: b.id, title: "t", body: "x", "ti\u0000tle": "y" } },
      { ...create(b.id, "key"), fields: { buildingId: b.id, title: "t", body: "x", "\udc00": "y" } },
      {
        ...create(b.id, "nested"),
        fields: { buildingId: b.id, title: "t", body: "x", extra: [{ a: "\u0000" }] },
      },
      { ...create(b.id, "building"), fields: { buildingId: `${b.id}\u0000`, title: "t", body: "x" } },
      { ...create(b.id, "hlc"), hlc: `${hlcAt(Date.now())}\ud800` },
      { ...create(b.id, "type"), type: "create\u0000" },
      { ...create(b.id, "op id"), opId: "op\u0000id" },
      { ...create(b.id, "op key"), "\u0000": 1 },
    ];
    // Interleaved, so a refused op sits between ops that apply.
    const ops = bad.flatMap((op, i) => (good[i] ? [good[i], op] : [op]));
    const res = await push(t, b.manager, ops);
    expect(res.status).toBe(200);
    for (const [i, op] of ops.entries()) {
      const r = res.body.results[i]!;
      if (good.includes(op as never)) expect(r).toMatchObject({ opId: op.opId, status: "applied" });
      else expect(r).toMatchObject({ status: "rejected", reason: "INVALID_TEXT" });
    }
    // A refused op id that is no storable text is not echoed; its place in the batch is.
    expect(res.body.results[ops.findIndex((op) => op.opId === "op\u0000id")]!.opId).toMatch(/^#\d+$/);
    const rows = await queryRows<{ title: string }>(
      t.services.database.db,
      sql`select title from announcements where building_id = ${b.id} order by created_at, title`,
    );
    expect(rows.map((r) => r.title).sort()).toEqual(good.map((op) => op.fields.title).sort());

    // The same batch again (a client retrying its queue): the same answers, nothing new.
    const again = await push(t, b.manager, ops);
    expect(again.body.results).toEqual(res.body.results);
  });

  it("answers a batch of only such ops, and an update carrying one, without a 500", async () => {
    const b = await createBuilding(t.services);
    const [first] = [create(b.id, "Before")];
    expect((await push(t, b.manager, [first])).body.results[0]!.status).toBe("applied");
    const update = {
      opId: opId("upd"),
      type: "update",
      entity: "announcements",
      id: first!.id,
      fields: { title: "after \ud800" },
      hlc: hlcAt(Date.now() + 10),
    };
    const res = await t.request(
      "/api/v1/sync/push",
      json({ deviceId: "dev-a", ops: [update] }, b.manager.auth),
    );
    expect(res.status).toBe(200);
    expect((await res.json()).results[0]).toMatchObject({ status: "rejected", reason: "INVALID_TEXT" });
    // Sent as raw JSON escapes, as any client's JSON encoder writes them.
    const raw = `{"deviceId":"dev-a","ops":[{"opId":"raw-1","type":"create","entity":"announcements","id":"${randomUUID()}","fields":{"buildingId":"${b.id}","title":"\\u0000\\ud800","body":"x"},"hlc":"${hlcAt(Date.now())}"}]}`;
    const rawRes = await t.request("/api/v1/sync/push", {
      method: "POST",
      headers: { "content-type": "application/json", ...b.manager.auth },
      body: raw,
    });
    expect(rawRes.status).toBe(200);
    expect((await rawRes.json()).results[0]).toMatchObject({ reason: "INVALID_TEXT" });
    const [row] = await queryRows<{ title: string }>(
      t.services.database.db,
      sql`select title from announcements where id = ${first!.id}`,
    );
    expect(row!.title).toBe("Before");
  });
});
