/**
 * Outbox delivery on the edge Worker (issue 15), under `wrangler dev` with the Neon and Upstash
 * bridges (set-up as in edge.test.ts) and the QStash stand-in in this process, driven by the real
 * @upstash/qstash Client inside workerd: QSTASH_URL points at the stand-in, QSTASH_CONSUMER_URL at
 * the Worker itself. A REST write's event is published after commit (under waitUntil) with its
 * dedup id and correlation id, QStash calls the Worker's consumer back with a signed callback and
 * the row ends dispatched; a sync batch's fan-out row comes back the same way and the Worker writes
 * the subscribers' rows; a tampered callback is 401 and runs nothing; a row nobody published is
 * sent by the every-minute cron. A second Worker without QStash delivers a missed poke from its
 * own cron and leaves rows of topics it has no handler for pending. Both Workers build their app
 * once per isolate (one `app_built` line across many requests).
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatHlc } from "../../src/client/sync/hlc";
import { signAccessToken } from "../../src/modules/identity/tokens";
import { QSTASH_DELIVER_PATH } from "../../src/modules/outbox/routes/qstash-consume";
import { type NeonBridge, startNeonBridge } from "../support/neon-bridge";
import { type QStashStandin, startQStashStandin } from "../support/qstash-standin";
import { createScratchDatabase, type ScratchDatabase } from "../support/scratch-db";
import { startUpstashBridge, type UpstashBridge } from "../support/upstash-bridge";
import { freePort, startWranglerDev, type WranglerDev } from "./wrangler";

const JWT_SECRET = "edge-queue-e2e-secret-edge-queue-e2e-0123456789";

let neon: NeonBridge;
let upstash: UpstashBridge;
let database: ScratchDatabase;
let standin: QStashStandin;
let edge: WranglerDev;
let plain: WranglerDev;
let db: pg.Client;

beforeAll(async () => {
  [neon, upstash, database, standin] = await Promise.all([
    startNeonBridge(),
    startUpstashBridge(),
    createScratchDatabase({ migrated: true }),
    startQStashStandin(),
  ]);
  db = new pg.Client({ connectionString: database.url });
  await db.connect();
  const vars = {
    DATABASE_URL: database.url,
    NEON_WS_PROXY: neon.wsProxy,
    UPSTASH_REDIS_REST_URL: upstash.url,
    UPSTASH_REDIS_REST_TOKEN: upstash.token,
    JWT_SECRET,
  };
  // The consumer URL names the Worker itself, so its port is chosen before it boots.
  const port = await freePort();
  const [withQStash, without] = await Promise.allSettled([
    startWranglerDev(
      {
        ...vars,
        QSTASH_TOKEN: standin.token,
        QSTASH_URL: standin.url,
        QSTASH_CURRENT_SIGNING_KEY: standin.currentSigningKey,
        QSTASH_NEXT_SIGNING_KEY: standin.nextSigningKey,
        QSTASH_CONSUMER_URL: `http://127.0.0.1:${port}`,
      },
      { port },
    ),
    startWranglerDev(vars),
  ]);
  if (withQStash.status === "fulfilled") edge = withQStash.value;
  if (without.status === "fulfilled") plain = without.value;
  if (withQStash.status === "rejected") throw withQStash.reason;
  if (without.status === "rejected") throw without.reason;
});

afterAll(async () => {
  await Promise.allSettled([edge?.stop(), plain?.stop()]);
  await db?.end();
  await Promise.allSettled([neon?.stop(), upstash?.stop(), standin?.close(), database?.drop()]);
});

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** The Worker's JSON log lines (workerd prints them through wrangler's pipe). */
function logLines(worker: WranglerDev): Array<Record<string, unknown>> {
  return worker
    .output()
    .split("\n")
    .filter((l) => l.includes('"event":'))
    .flatMap((l) => {
      try {
        return [JSON.parse(l.slice(l.indexOf("{"))) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

/** A manager of a new building, signed in. */
async function seed() {
  const {
    rows: [user],
  } = await db.query<{ id: string }>(
    `insert into users (email, name, password_hash) values ($1, 'Edge Queue', '!no-login') returning id`,
    [`edge-queue-${randomUUID()}@test.horizon`],
  );
  const {
    rows: [building],
  } = await db.query<{ id: string }>(
    `insert into buildings (name, address_line, city, country) values ('Queue', '1 Edge St', 'Haifa', 'IL') returning id`,
  );
  await db.query(`insert into memberships (building_id, user_id, role) values ($1, $2, 'manager')`, [
    building!.id,
    user!.id,
  ]);
  const token = await signAccessToken({ userId: user!.id, isAdmin: false }, JWT_SECRET, new Date());
  return { buildingId: building!.id, auth: { authorization: `Bearer ${token}` } };
}

interface OutboxRow {
  id: string;
  topic: string;
  correlation_id: string;
  attempts: number;
  dispatched_at: Date | null;
  dead_at: Date | null;
  published_at: Date | null;
  last_error: string | null;
}

async function row(id: string): Promise<OutboxRow> {
  const { rows } = await db.query<OutboxRow>("select * from outbox where id = $1", [id]);
  return rows[0]!;
}

/** An outbox row as a writer that never handed it over leaves it: due a minute ago, unpublished. */
async function strandedRow(topic: string, buildingId: string, payload: unknown, correlationId: string) {
  const {
    rows: [r],
  } = await db.query<{ id: string }>(
    `insert into outbox (topic, building_id, payload, correlation_id, available_at)
     values ($1, $2, $3, $4, now() - interval '1 minute') returning id`,
    [topic, buildingId, JSON.stringify(payload), correlationId],
  );
  return r!.id;
}

function messageFor(outboxId: string) {
  return [...standin.messages.values()].find((m) => m.body.toString().includes(outboxId));
}

async function fireCron(worker: WranglerDev) {
  const res = await fetch(`${worker.url}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent("* * * * *")}`);
  expect(res.status, await res.clone().text()).toBe(200);
}

describe("outbox delivery on the edge Worker", () => {
  it("a REST write's event goes to QStash after commit and back to the Worker's consumer: dispatched, correlation id kept", async () => {
    const s = await seed();
    const correlationId = `corr-edge-${randomUUID()}`;
    const id = randomUUID();
    const now = Date.now();
    const push = async (ops: unknown[], headers: Record<string, string> = {}) => {
      const res = await fetch(`${edge.url}/api/v1/sync/push`, {
        method: "POST",
        headers: { "content-type": "application/json", ...s.auth, ...headers },
        body: JSON.stringify({ deviceId: "dev-edge-q", ops }),
      });
      expect(res.status, await res.clone().text()).toBe(200);
      return res;
    };
    const hlc = (wall: number) => formatHlc({ wall, counter: 0, node: "dev-edge-q" });
    const fields = { buildingId: s.buildingId, title: "Lift", body: "Off on Sunday." };
    await push([
      { opId: `op-${randomUUID()}`, type: "create", entity: "announcements", id, fields, hlc: hlc(now) },
    ]);
    await push([
      { opId: `op-${randomUUID()}`, type: "delete", entity: "announcements", id, hlc: hlc(now + 1) },
    ]);
    // An edit of the deleted row: a conflict, recorded as a sync.conflict outbox event.
    const late = await push(
      [
        {
          opId: `op-${randomUUID()}`,
          type: "update",
          entity: "announcements",
          id,
          fields: { title: "Lift!" },
          hlc: hlc(now + 2),
        },
      ],
      { "x-correlation-id": correlationId },
    );
    expect(late.headers.get("x-correlation-id")).toBe(correlationId);

    const { rows } = await db.query<{ id: string }>(
      "select id from outbox where topic = 'sync.conflict' and correlation_id = $1",
      [correlationId],
    );
    expect(rows).toHaveLength(1);
    const outboxId = rows[0]!.id;

    // Published from the write's invocation (no cron fired here): the stand-in has the message.
    const msg = await waitFor("the publish", async () => messageFor(outboxId));
    expect(msg.publishHeaders["upstash-deduplication-id"]).toMatch(new RegExp(`^${outboxId}-\\d+$`));
    expect(msg.publishHeaders["upstash-forward-x-correlation-id"]).toBe(correlationId);
    expect(msg.headers["x-correlation-id"]).toBe(correlationId);
    expect(msg.url).toBe(`${edge.url}${QSTASH_DELIVER_PATH}`);

    // QStash's signed callback reached the Worker's consumer, which ran the handler.
    const settled = await waitFor("the row dispatched", async () => {
      const r = await row(outboxId);
      return r.dispatched_at ? r : undefined;
    });
    expect(settled).toMatchObject({ attempts: 1, dead_at: null });
    expect(settled.published_at).not.toBeNull();
    await standin.idle();
    expect(standin.attempts.filter((a) => a.messageId === msg.messageId).map((a) => a.status)).toEqual([200]);
    const delivery = await waitFor("the consumer's log line", async () =>
      logLines(edge).find((l) => l.event === "qstash_delivery" && l.outboxId === outboxId),
    );
    expect(delivery).toMatchObject({ outcome: "ok", correlationId });

    // The create's domain event: the push wrote one fan-out row; QStash brought it back to the
    // Worker, whose handler wrote each subscriber's row (one transaction on the Neon Pool), with
    // one event id for both and the push's building.
    const fanouts = await waitFor("both pushes' fan-out rows dispatched", async () => {
      const { rows } = await db.query<OutboxRow>(
        "select * from outbox where topic = 'events.fanout' and building_id = $1",
        [s.buildingId],
      );
      return rows.length === 2 && rows.every((r) => r.dispatched_at) ? rows : undefined;
    });
    expect(fanouts.every((r) => r.dead_at === null)).toBe(true);
    const published = await waitFor("the subscribers' rows of the published event", async () => {
      const { rows } = await db.query<{
        topic: string;
        payload: { eventId: string; data: { announcementId: string } };
      }>(
        `select topic, payload from outbox where building_id = $1
           and topic in ('notifications.domain', 'webhooks.dispatch') and payload->>'type' = 'announcement.published'
         order by topic`,
        [s.buildingId],
      );
      return rows.length === 2 ? rows : undefined;
    });
    expect(published.map((r) => r.topic)).toEqual(["notifications.domain", "webhooks.dispatch"]);
    expect(published.map((r) => r.payload.data.announcementId)).toEqual([id, id]);
    expect(published[0]!.payload.eventId).toBe(published[1]!.payload.eventId);

    // The writes' pokes went out right after commit (the fast path): QStash never carried them.
    const pokes = await db.query<{ id: string; dispatched_at: Date | null }>(
      "select id, dispatched_at from outbox where topic = 'realtime.poke' and building_id = $1",
      [s.buildingId],
    );
    expect(pokes.rows.length).toBeGreaterThan(0);
    for (const p of pokes.rows) {
      expect(p.dispatched_at).not.toBeNull();
      expect(messageFor(p.id)).toBeUndefined();
    }
  });

  it("refuses a tampered callback with 401 problem+json and runs nothing", async () => {
    const s = await seed();
    // Pending, and not due for an hour: only a (forged) callback could run it.
    const {
      rows: [r],
    } = await db.query<{ id: string }>(
      `insert into outbox (topic, building_id, payload, correlation_id, available_at)
       values ('realtime.poke', $1, $2, 'corr-tampered', now() + interval '1 hour') returning id`,
      [s.buildingId, JSON.stringify({ type: "poke", buildingId: s.buildingId, version: 1 })],
    );
    const url = `${edge.url}${QSTASH_DELIVER_PATH}`;
    const signedBody = JSON.stringify({ id: randomUUID(), topic: "realtime.poke" });
    const signature = await standin.sign({ url, body: signedBody });
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "upstash-signature": signature },
      // Valid signature, another body (the body hash no longer matches).
      body: JSON.stringify({ id: r!.id, topic: "realtime.poke" }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(await res.json()).toMatchObject({
      status: 401,
      code: "UNAUTHENTICATED",
      correlationId: expect.any(String),
    });
    expect(await row(r!.id)).toMatchObject({ attempts: 0, dispatched_at: null, dead_at: null });
  });

  it("the every-minute cron publishes a row left unpublished, and QStash delivers it", async () => {
    const s = await seed();
    const correlationId = `corr-swept-${randomUUID()}`;
    const outboxId = await strandedRow(
      "realtime.poke",
      s.buildingId,
      { type: "poke", buildingId: s.buildingId, version: 1 },
      correlationId,
    );
    expect(messageFor(outboxId)).toBeUndefined();
    await fireCron(edge);
    const msg = await waitFor("the sweep's publish", async () => messageFor(outboxId));
    expect(msg.headers["x-correlation-id"]).toBe(correlationId);
    const settled = await waitFor("the swept row dispatched", async () => {
      const r = await row(outboxId);
      return r.dispatched_at ? r : undefined;
    });
    expect(settled.published_at).not.toBeNull();
    expect(settled.dead_at).toBeNull();
  });

  it("without QStash, the cron delivers a missed poke in the Worker and leaves other topics pending", async () => {
    const s = await seed();
    const poke = await strandedRow(
      "realtime.poke",
      s.buildingId,
      { type: "poke", buildingId: s.buildingId, version: 1 },
      "corr-plain-poke",
    );
    // A topic this Worker has no handler for (one the job service would run): not its to kill.
    const other = await strandedRow(
      "files.thumbnail",
      s.buildingId,
      { fileId: randomUUID() },
      "corr-plain-file",
    );
    await fireCron(plain);
    const settled = await waitFor("the poke delivered by the cron", async () => {
      const r = await row(poke);
      return r.dispatched_at ? r : undefined;
    });
    expect(settled).toMatchObject({ attempts: 1, dead_at: null, published_at: null });
    const line = await waitFor("the cron's summary", async () =>
      logLines(plain).find((l) => l.event === "outbox_cron_delivered"),
    );
    expect(line).toMatchObject({ cron: "* * * * *" });
    expect(await row(other)).toMatchObject({ attempts: 0, dispatched_at: null, dead_at: null });
    expect(messageFor(poke)).toBeUndefined();
  });

  it("builds the app once per isolate, not per request", async () => {
    for (let i = 0; i < 5; i++) {
      for (const worker of [edge, plain]) {
        const res = await fetch(`${worker.url}/health`);
        expect(res.status).toBe(200);
        await res.arrayBuffer();
      }
    }
    await sleep(500);
    for (const worker of [edge, plain]) {
      const built = logLines(worker).filter((l) => l.event === "app_built");
      const requests = logLines(worker).filter((l) => l.event === "access");
      expect(requests.length).toBeGreaterThan(5);
      expect(built).toHaveLength(1);
    }
    expect(logLines(edge).find((l) => l.event === "app_built")).toMatchObject({ qstashCallbacks: true });
    expect(logLines(plain).find((l) => l.event === "app_built")).toMatchObject({ qstashCallbacks: false });
  });
});
