/** Small helpers for the sync tests: push/pull through the real app, HLC strings. */
import { formatHlc } from "../../../src/client/sync/hlc";
import type { PullResponse, PushOp, PushResponse } from "../../../src/protocol/sync";
import type { TestApp } from "../../support/app";
import { json, type TestUser } from "../../support/fixtures";

export const hlcAt = (wall: number, node = "dev-a", counter = 0) => formatHlc({ wall, counter, node });

let seq = 0;
export const opId = (prefix = "op") => `${prefix}-${Date.now().toString(36)}-${(seq++).toString(36)}`;

/** One `create` op per id of an announcement in `buildingId`, titled `${title} ${i}`, clocks one ms apart. */
export function announcementCreates(buildingId: string, ids: readonly string[], node: string, title: string) {
  const now = Date.now();
  return ids.map((id, i) => ({
    opId: opId(),
    type: "create",
    entity: "announcements",
    id,
    fields: { buildingId, title: `${title} ${i}`, body: "." },
    hlc: hlcAt(now + i, node),
  }));
}

export async function push(
  t: TestApp,
  user: TestUser,
  ops: Array<Partial<PushOp> | unknown>,
  deviceId = "dev-a",
) {
  const res = await t.request("/api/v1/sync/push", json({ deviceId, ops }, user.auth));
  return { status: res.status, body: (await res.json()) as PushResponse & Record<string, any> };
}

export async function pull(
  t: TestApp,
  user: TestUser,
  buildings: Record<string, number | null>,
  extra: Record<string, unknown> = {},
) {
  const res = await t.request("/api/v1/sync/pull", json({ buildings, ...extra }, user.auth));
  return { status: res.status, body: (await res.json()) as PullResponse & Record<string, any> };
}

/** Pulls until hasMore is false; returns every page and the final cursors. */
export async function pullAll(
  t: TestApp,
  user: TestUser,
  buildings: Record<string, number | null>,
  limit?: number,
) {
  const pages: PullResponse[] = [];
  let cursors = buildings;
  for (let i = 0; i < 10_000; i++) {
    const { status, body } = await pull(t, user, cursors, limit ? { limit } : {});
    if (status !== 200) throw new Error(`pull answered ${status}: ${JSON.stringify(body)}`);
    pages.push(body);
    cursors = { ...cursors, ...body.cursors };
    if (!body.hasMore) break;
  }
  return { pages, cursors };
}
