/**
 * Building event streams on the edge Worker under `wrangler dev` (Neon and Upstash bridges, as in
 * edge.test.ts): a stream receives the poke of a write, and once the client disconnects the
 * stream is unsubscribed at once — presence drops its device within a few seconds, and later
 * publishes resolve nothing from the dead request's context (workerd warns "A promise was
 * resolved or rejected from a different request context" when one does).
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readSse, type SseMessage } from "../../src/client/realtime/sse";
import { waitUntil } from "../integration/realtime/harness";
import type { ScratchDatabase } from "../support/scratch-db";
import { type EdgeStack, startEdgeStack, type WranglerDev } from "./wrangler";

const JWT_SECRET = "edge-sse-secret-edge-sse-secret-0123456789";
const CROSS_CONTEXT = "different request context";

let stack: EdgeStack;
let database: ScratchDatabase;
let edge: WranglerDev;

beforeAll(async () => {
  stack = await startEdgeStack(JWT_SECRET);
  ({ database, edge } = stack);
});

afterAll(() => stack?.stop());

const json = { "content-type": "application/json" };

/** Registers and signs in through the Worker; answers the user id and bearer header. */
async function account(name: string) {
  const email = `edge-sse-${randomUUID()}@example.com`;
  const password = "Edge-sse correct horse 42!";
  const reg = await fetch(`${edge.url}/api/v1/auth/register`, {
    method: "POST",
    headers: json,
    body: JSON.stringify({ email, password, name }),
  });
  expect(reg.status, await reg.clone().text()).toBe(201);
  const { id } = (await reg.json()) as { id: string };
  const login = await fetch(`${edge.url}/api/v1/auth/login`, {
    method: "POST",
    headers: json,
    body: JSON.stringify({ email, password }),
  });
  const { accessToken } = (await login.json()) as { accessToken: string };
  return { id, auth: { authorization: `Bearer ${accessToken}` } };
}

describe("building event streams on the edge Worker", () => {
  it("deliver a write's poke, and a closed stream leaves presence and the isolate at once", async () => {
    const [manager, resident] = await Promise.all([account("Edge Manager"), account("Edge Resident")]);
    const db = new pg.Client({ connectionString: database.url });
    await db.connect();
    let buildingId: string;
    try {
      const { rows } = await db.query<{ id: string }>(
        `insert into buildings (name, address_line, city, country) values ('SSE', '1 Edge St', 'Haifa', 'IL') returning id`,
      );
      buildingId = rows[0]!.id;
      await db.query(
        `insert into memberships (building_id, user_id, role) values ($1, $2, 'manager'), ($1, $3, 'resident')`,
        [buildingId, manager.id, resident.id],
      );
    } finally {
      await db.end();
    }
    const online = async () => {
      const res = await fetch(`${edge.url}/api/v1/buildings/${buildingId}/presence`, {
        headers: manager.auth,
      });
      expect(res.status).toBe(200);
      const { online } = (await res.json()) as { online: Array<{ devices: Array<{ deviceId: string }> }> };
      return online.flatMap((u) => u.devices.map((d) => d.deviceId));
    };
    const write = async (number: string) => {
      const res = await fetch(`${edge.url}/api/v1/buildings/${buildingId}/apartments`, {
        method: "POST",
        headers: { ...manager.auth, ...json },
        body: JSON.stringify({ number }),
      });
      expect(res.status, await res.clone().text()).toBe(201);
      return ((await res.json()) as { syncVersion: number }).syncVersion;
    };

    const abort = new AbortController();
    const res = await fetch(`${edge.url}/api/v1/buildings/${buildingId}/events?deviceId=edge-web`, {
      headers: resident.auth,
      signal: abort.signal,
    });
    expect(res.status).toBe(200);
    const messages: SseMessage[] = [];
    const reading = readSse(res.body!, (m) => messages.push(m)).catch(() => {});
    await waitUntil(() => messages.some((m) => m.event === "presence.list"), 10_000, "stream open");
    expect(await online()).toContain("edge-web");

    const version = await write("E1");
    await waitUntil(
      () => messages.some((m) => m.event === "poke" && JSON.parse(m.data).version === version),
      10_000,
      "the write's poke on the stream",
    );

    abort.abort();
    await reading;
    // Standalone clears a closed stream within ~2 s; the Worker kept it ~60 s (presence TTL).
    await waitUntil(async () => !(await online()).includes("edge-web"), 5000, "presence drops the device");

    // Later publishes in the same isolate must not touch the closed stream's request context.
    await write("E2");
    await write("E3");
    await sleep(1000); // workerd's warning reaches us through wrangler's pipe a moment later
    expect(edge.output()).not.toContain(CROSS_CONTEXT);
  });
});

describe("refusals before the router on the edge Worker", () => {
  it("answers a room path and an oversized request head with problem+json and a correlation id", async () => {
    // No rooms on the Worker (they live on PartyKit): the router's own 404 problem.
    const room = await fetch(`${edge.url}/parties/building/${randomUUID()}`, {
      headers: { "x-correlation-id": "edge-room" },
    });
    expect(room.status).toBe(404);
    expect(room.headers.get("content-type")).toBe("application/problem+json");
    expect(room.headers.get("x-correlation-id")).toBe("edge-room");
    // Over the 16 KiB head limit but under the runtime's own: the Worker answers, as the hosts do.
    const big = await fetch(`${edge.url}/api/v1/meta/versions?q=${"a".repeat(20_000)}`, {
      headers: { "x-correlation-id": "edge-431" },
    });
    expect(big.status).toBe(431);
    expect(big.headers.get("content-type")).toBe("application/problem+json");
    expect(await big.json()).toMatchObject({ code: "HEADERS_TOO_LARGE", correlationId: "edge-431" });
    expect(big.headers.get("x-correlation-id")).toBe("edge-431");
  });
});
