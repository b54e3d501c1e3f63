/**
 * The read cache on the edge Worker (issue 14 defect 10), under `wrangler dev` with the Neon and
 * Upstash bridges (set-up as in edge.test.ts). A stale entry used to hang its route for good in
 * the isolate: the refresh ran on the request's Neon Pool, closed after the response, and the
 * isolate-wide single-flight map kept the dead promise for every later request. Here every
 * remember() read (building, apartment list, /me) is made stale by moving its fresh-until mark
 * into the past in Redis, read by ten requests at once, then read again one by one, then dropped
 * and read again (a miss): every answer is 200 before its own deadline, the entries are fresh
 * again (the refreshes finished under waitUntil) and the Worker never logs cache_degraded.
 */
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signAccessToken } from "../../src/modules/identity/tokens";
import { REDIS_URL } from "../support/env";
import type { ScratchDatabase } from "../support/scratch-db";
import { type EdgeStack, startEdgeStack, type WranglerDev } from "./wrangler";

const JWT_SECRET = "edge-cache-e2e-secret-edge-cache-e2e-0123456789";
/** Per request: a hung request fails the test instead of hanging it. */
const DEADLINE_MS = 15_000;

let stack: EdgeStack;
let database: ScratchDatabase;
let edge: WranglerDev;
let redis: Redis;

beforeAll(async () => {
  stack = await startEdgeStack(JWT_SECRET);
  ({ database, edge } = stack);
  redis = new Redis(REDIS_URL);
});

afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
});

async function seed() {
  const db = new pg.Client({ connectionString: database.url });
  await db.connect();
  try {
    const {
      rows: [user],
    } = await db.query<{ id: string }>(
      `insert into users (email, name, password_hash) values ($1, 'Edge Cache', '!no-login') returning id`,
      [`edge-cache-${Date.now()}-${Math.random().toString(36).slice(2)}@test.horizon`],
    );
    const {
      rows: [building],
    } = await db.query<{ id: string }>(
      `insert into buildings (name, address_line, city, country) values ('Stale', '1 Edge St', 'Haifa', 'IL') returning id`,
    );
    await db.query(`insert into apartments (building_id, number, floor) values ($1, '1', 1), ($1, '2', 1)`, [
      building!.id,
    ]);
    await db.query(`insert into memberships (building_id, user_id, role) values ($1, $2, 'manager')`, [
      building!.id,
      user!.id,
    ]);
    const token = await signAccessToken({ userId: user!.id, isAdmin: false }, JWT_SECRET, new Date());
    return { userId: user!.id, buildingId: building!.id, auth: { authorization: `Bearer ${token}` } };
  } finally {
    await db.end();
  }
}

/** The cache entries in Redis whose key mentions `id` (under the Worker's KV_PREFIX). */
async function entriesOf(id: string): Promise<string[]> {
  return redis.keys(`${stack.edge.kvPrefix}cache:*${id}*`);
}

/** Moves an entry's fresh-until mark into the past, keeping it servable (stale). */
async function makeStale(key: string) {
  const entry = JSON.parse((await redis.get(key))!) as { f: number; s: number };
  expect(entry.s).toBeGreaterThan(Date.now() + 10_000);
  await redis.set(key, JSON.stringify({ ...entry, f: Date.now() - 1000 }), "KEEPTTL");
}

async function get(path: string, auth: Record<string, string>) {
  const res = await fetch(`${edge.url}${path}`, { headers: auth, signal: AbortSignal.timeout(DEADLINE_MS) });
  await res.arrayBuffer();
  return res.status;
}

describe("edge Worker: stale cache entries", () => {
  it("serves every remember() read after ten concurrent stale hits, refreshes them, and logs no cache_degraded", async () => {
    const s = await seed();
    const paths = [
      `/api/v1/buildings/${s.buildingId}`,
      `/api/v1/buildings/${s.buildingId}/apartments`,
      "/api/v1/me",
    ];
    for (const path of paths) expect(await get(path, s.auth)).toBe(200);
    const keys = [...(await entriesOf(s.buildingId)), ...(await entriesOf(s.userId))];
    expect(keys.some((k) => k.includes(":view"))).toBe(true);
    expect(keys.some((k) => k.includes("apartments:"))).toBe(true);
    expect(keys.some((k) => k.includes("profile:"))).toBe(true);

    for (let round = 0; round < 2; round++) {
      for (const key of keys) await makeStale(key);
      for (const path of paths) {
        const concurrent = await Promise.all(Array.from({ length: 10 }, () => get(path, s.auth)));
        expect(concurrent).toEqual(Array(10).fill(200));
      }
      for (let i = 0; i < 2; i++) for (const path of paths) expect(await get(path, s.auth)).toBe(200);
      // Gone from kv (a write's invalidation, or past the stale window): the next read is a miss,
      // which once joined the dead refresh of an earlier request and hung.
      await redis.del(...keys);
      for (let i = 0; i < 2; i++) for (const path of paths) expect(await get(path, s.auth)).toBe(200);
      for (const key of keys) expect(await redis.exists(key)).toBe(1);
    }

    // The refreshes ran to the end under waitUntil: every entry is fresh again.
    for (let i = 0; i < 50; i++) {
      const fresh = await Promise.all(
        keys.map(async (k) => (JSON.parse((await redis.get(k)) ?? "{}") as { f?: number }).f ?? 0),
      );
      if (fresh.every((f) => f > Date.now())) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const k of keys)
      expect((JSON.parse((await redis.get(k))!) as { f: number }).f).toBeGreaterThan(Date.now());
    // workerd's output reaches us through wrangler's pipe a moment after the responses.
    await new Promise((r) => setTimeout(r, 500));
    const degraded = edge
      .output()
      .split("\n")
      .filter((l) => l.includes("cache_degraded"));
    expect(degraded).toEqual([]);
  });
});
