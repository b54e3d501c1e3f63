/**
 * Design properties 1–6 (logging and monitoring), on the real app with a captured JSON sink.
 */
import { Writable } from "node:stream";
import { sql } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LogLevel } from "../../../src/config";
import { currentContext } from "../../../src/context";
import { LEVELS, type Level, type Logger } from "../../../src/platform/log";
import { createJsonLogger } from "../../../src/platform/log/json";
import { createPinoLogger } from "../../../src/platform/log/pino";
import { createTestApp, type TestApp } from "../../support/app";

const RUNS = { numRuns: 100 };
const LEVEL_NAMES: Level[] = ["trace", "debug", "info", "warn", "error", "fatal"];
const methodArb = fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE");
const segmentArb = fc.stringMatching(/^[A-Za-z0-9._~-]{1,12}$/).filter((s) => s !== "." && s !== "..");
const pathArb = fc.array(segmentArb, { minLength: 1, maxLength: 4 }).map((s) => `/probe/${s.join("/")}`);
const uaArb = fc.string({ minLength: 0, maxLength: 60 }).map((s) => s.replace(/[^\x20-\x7e]/g, "").trim());

function pinoCapture(level: LogLevel) {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split("\n").filter(Boolean));
      cb();
    },
  });
  return { logger: createPinoLogger({ level, destination: destination as never }), lines };
}

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ db: "pglite" });
  // Probe routes: any path, any method; /work does n db queries and k kv reads on a fresh key.
  t.app.all("/probe/*", (c) => c.json({ ok: true }));
  t.app.post("/work", async (c) => {
    const { queries, kvReads, kvWrites, fail, user } = await c.req.json();
    const ctx = currentContext();
    if (ctx && user) ctx.userId = user;
    for (let i = 0; i < queries; i++) await c.var.services.database.db.execute(sql`select ${i}::int as n`);
    for (let i = 0; i < kvWrites; i++) await c.var.services.kv.set(`p6:${c.var.correlationId}:${i}`, "v");
    for (let i = 0; i < kvReads; i++) await c.var.services.kv.get(`p6:${c.var.correlationId}:${i}`);
    if (fail) throw new Error(`boom ${fail}`);
    return c.json({ ok: true });
  });
});
afterAll(() => t.close());

const linesFor = (id: string) => t.logs.filter((l) => l.correlationId === id);

describe("logging properties", () => {
  it("Property 1: Request logging completeness — every request line has correlation id, timestamp, method, path, user agent, IP", async () => {
    await fc.assert(
      fc.asyncProperty(methodArb, pathArb, uaArb, fc.ipV4(), async (method, path, ua, ip) => {
        const res = await t.request(path, { method, headers: { "user-agent": ua } }, ip);
        const id = res.headers.get("x-correlation-id")!;
        // One access line per request carries the request's fields and the response's (request-log.ts).
        const lines = linesFor(id).filter((l) => l.event === "access");
        expect(lines).toHaveLength(1);
        const line = lines[0];
        expect(line).toMatchObject({
          correlationId: id,
          method,
          path,
          userAgent: ua,
          ip,
          status: res.status,
        });
        expect(Number.isNaN(Date.parse(String(line!.time)))).toBe(false);
      }),
      RUNS,
    );
  });

  it("Property 2: Response logging completeness — every response line has correlation id, status, duration and payload size", async () => {
    await fc.assert(
      fc.asyncProperty(methodArb, pathArb, async (method, path) => {
        const res = await t.request(path, { method });
        const body = await res.arrayBuffer();
        const id = res.headers.get("x-correlation-id")!;
        const line = linesFor(id).find((l) => l.event === "access");
        expect(line).toMatchObject({ correlationId: id, status: res.status, bytes: body.byteLength });
        expect(typeof line!.durationMs).toBe("number");
        expect(line!.durationMs as number).toBeGreaterThanOrEqual(0);
      }),
      RUNS,
    );
  });

  it("Property 3: Log level filtering — only entries at or above the configured level are written", () => {
    fc.assert(
      fc.property(
        fc.constantFrom<LogLevel>("trace", "debug", "info", "warn", "error", "fatal", "silent"),
        fc.array(fc.constantFrom(...LEVEL_NAMES), { maxLength: 30 }),
        fc.boolean(),
        (configured, calls, usePino) => {
          let lines: string[] = [];
          let logger: Logger;
          if (usePino) {
            const cap = pinoCapture(configured);
            logger = cap.logger;
            lines = cap.lines;
          } else {
            logger = createJsonLogger({ level: configured, sink: (l) => lines.push(l) });
          }
          const child = logger.child({ component: "p3" });
          for (const level of calls) child[level]({ n: 1 }, `at ${level}`);
          (logger as unknown as { flush?: () => void }).flush?.();
          const expected = calls.filter((l) => LEVELS[l] >= LEVELS[configured]);
          const written = lines.map((l) => JSON.parse(l).level);
          expect(written).toEqual(expected);
        },
      ),
      RUNS,
    );
  });

  it("Property 4: Error logging completeness — stack, correlation id, user context and redacted request data", async () => {
    const secretArb = fc.stringMatching(/^[A-Za-z0-9]{12,24}$/);
    await fc.assert(
      fc.asyncProperty(secretArb, fc.uuid(), fc.stringMatching(/^[a-z]{1,8}$/), async (secret, user, tag) => {
        const res = await t.request(`/work?tag=${tag}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            queries: 0,
            kvReads: 0,
            kvWrites: 0,
            fail: tag,
            user,
            password: secret,
            token: secret,
          }),
        });
        expect(res.status).toBe(500);
        const id = res.headers.get("x-correlation-id")!;
        const line = linesFor(id).find((l) => l.event === "error") as Record<string, any>;
        expect(line.err.stack).toContain(`boom ${tag}`);
        expect(line.user).toMatchObject({ id: user });
        expect(line.request).toMatchObject({ method: "POST", path: "/work", query: { tag } });
        expect(line.request.body.fail).toBe(tag);
        expect(JSON.stringify(linesFor(id))).not.toContain(secret);
        expect(await res.text()).not.toContain(`boom ${tag}`);
      }),
      RUNS,
    );
  });

  it("Property 5: Structured log format — every line is one JSON object with level, time, msg", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...LEVEL_NAMES),
        fc.dictionary(fc.stringMatching(/^[a-z][a-zA-Z]{0,10}$/), fc.jsonValue(), { maxKeys: 5 }),
        fc.string({ maxLength: 40 }),
        fc.boolean(),
        async (level, fields, msg, usePino) => {
          const lines: string[] = [];
          const logger = usePino
            ? (() => {
                const cap = pinoCapture("trace");
                return { l: cap.logger, lines: cap.lines };
              })()
            : { l: createJsonLogger({ level: "trace", sink: (x) => lines.push(x) }), lines };
          const { level: _l, time: _t, msg: _m, ...rest } = fields as Record<string, unknown>;
          logger.l[level](rest, msg);
          (logger.l as unknown as { flush?: () => void }).flush?.();
          expect(logger.lines).toHaveLength(1);
          const parsed = JSON.parse(logger.lines[0]!);
          expect(parsed).toMatchObject({ level, msg });
          expect(Number.isNaN(Date.parse(parsed.time))).toBe(false);
        },
      ),
      RUNS,
    );
  });

  it("Property 6: Performance metrics — the response line and Server-Timing carry db and kv counts and timings", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: 0, max: 4 }),
        async (queries, kvWrites, kvReads) => {
          const res = await t.request("/work", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ queries, kvReads, kvWrites }),
          });
          expect(res.status).toBe(200);
          const id = res.headers.get("x-correlation-id")!;
          const line = linesFor(id).find((l) => l.event === "access") as Record<string, any>;
          const hits = Math.min(kvReads, kvWrites);
          expect(line.db.queries).toBe(queries);
          expect(line.kv).toMatchObject({ calls: kvReads + kvWrites, hits, misses: kvReads - hits });
          expect(line.db.ms).toBeGreaterThanOrEqual(0);
          expect(res.headers.get("server-timing")).toContain(`desc="${queries} queries"`);
          expect(res.headers.get("server-timing")).toContain(`${kvReads + kvWrites} calls ${hits} hits`);
        },
      ),
      RUNS,
    );
  });
});
