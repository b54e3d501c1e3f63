import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../../support/app";
import { DB_KINDS } from "../../support/db";
import { createBuilding, createUser } from "../../support/fixtures";
import { buildingVersion, call } from "./helpers";

describe.each(DB_KINDS)("announcements on %s", (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ db: kind });
  });
  afterAll(() => t.close());

  it("lets managers post, edit and delete; members read; others get 403/404", async () => {
    const b = await createBuilding(t.services);
    const base = `/buildings/${b.id}/announcements`;
    const v0 = await buildingVersion(t, b.id);
    const post = await call(t, "POST", base, b.manager, {
      title: "Water off",
      body: "Tuesday 9-12",
      priority: "important",
    });
    expect(post.status).toBe(201);
    expect(post.body).toMatchObject({ title: "Water off", authorId: b.manager.id, syncVersion: v0 + 1 });
    expect((await call(t, "POST", base, b.resident, { title: "x", body: "y" })).status).toBe(403);
    const outsider = await createUser(t.services);
    expect((await call(t, "GET", base, outsider)).status).toBe(404);
    const one = `${base}/${post.body.id}`;
    const got = await call(t, "GET", one, b.neighbour);
    expect(got.status).toBe(200);
    const edit = await call(
      t,
      "PATCH",
      one,
      b.manager,
      { body: "Tuesday 9-13" },
      { "if-match": got.headers.get("etag")! },
    );
    expect(edit.status).toBe(200);
    expect(edit.body.syncVersion).toBe(v0 + 2);
    const stale = await call(
      t,
      "PATCH",
      one,
      b.manager,
      { body: "x" },
      { "if-match": got.headers.get("etag")! },
    );
    expect(stale.status).toBe(412);
    expect((await call(t, "PATCH", one, b.resident, { body: "x" })).status).toBe(403);
    expect((await call(t, "DELETE", one, b.manager)).status).toBe(204);
    expect((await call(t, "GET", one, b.resident)).status).toBe(404);
    expect(await buildingVersion(t, b.id)).toBe(v0 + 3);
    const other = await createBuilding(t.services);
    const foreign = await call(t, "POST", `/buildings/${other.id}/announcements`, other.manager, {
      title: "t",
      body: "b",
    });
    expect((await call(t, "GET", `${base}/${foreign.body.id}`, b.manager)).status).toBe(404);
    expect((await call(t, "PATCH", `${base}/${foreign.body.id}`, b.manager, { title: "mine" })).status).toBe(
      404,
    );
  });

  it("lists newest first with offset and cursor pages that neither skip nor repeat", async () => {
    const b = await createBuilding(t.services);
    const base = `/buildings/${b.id}/announcements`;
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const res = await call(t, "POST", base, b.manager, { title: `News ${i}`, body: "..." });
      ids.push(res.body.id);
    }
    const newestFirst = [...ids].reverse();
    const seen: string[] = [];
    let res = await call(t, "GET", `${base}?limit=3`, b.resident);
    seen.push(...res.body.data.map((a: { id: string }) => a.id));
    while (res.body.pagination.nextCursor) {
      res = await call(t, "GET", `${base}?limit=3&cursor=${res.body.pagination.nextCursor}`, b.resident);
      seen.push(...res.body.data.map((a: { id: string }) => a.id));
    }
    expect(seen).toEqual(newestFirst);
    const page2 = await call(t, "GET", `${base}?limit=3&page=2`, b.resident);
    expect(page2.body.data.map((a: { id: string }) => a.id)).toEqual(newestFirst.slice(3, 6));
    expect(page2.body.pagination).toMatchObject({ total: 7, page: 2, hasNext: true, hasPrev: true });
    const back = await call(t, "GET", `${base}?limit=3&cursor=${res.body.pagination.prevCursor}`, b.resident);
    expect(back.body.data.map((a: { id: string }) => a.id)).toEqual(newestFirst.slice(3, 6));
    expect((await call(t, "GET", `${base}?cursor=forged.cursor`, b.resident)).body.code).toBe(
      "INVALID_CURSOR",
    );
  });

  it("hides scheduled announcements from residents until they are published", async () => {
    const b = await createBuilding(t.services);
    const base = `/buildings/${b.id}/announcements`;
    const later = new Date(Date.now() + 86_400_000).toISOString();
    const res = await call(t, "POST", base, b.manager, {
      title: "AGM",
      body: "Next week",
      publishedAt: later,
    });
    expect(res.status).toBe(201);
    expect((await call(t, "GET", base, b.resident)).body.data).toHaveLength(0);
    expect((await call(t, "GET", base, b.manager)).body.data).toHaveLength(1);
    expect((await call(t, "GET", `${base}/${res.body.id}`, b.resident)).status).toBe(404);
    expect(
      (await call(t, "POST", base, b.manager, { title: "x", body: "y", publishedAt: "tomorrow" })).status,
    ).toBe(400);
  });
});
