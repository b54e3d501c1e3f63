/**
 * The kv contract: one suite, run against every adapter (memory, Redis over TCP, Upstash REST
 * through the local bridge to the same Redis). Each run uses its own key prefix; each test its own
 * key namespace, so runs and tests never see each other's keys.
 */
import { randomUUID } from "node:crypto";
import { createServer, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newMetrics, runWithContext } from "../../src/context";
import { DependencyUnavailableError } from "../../src/platform/breaker";
import { globToRegExp, type Kv } from "../../src/platform/kv";
import type { GuardedKv } from "../../src/platform/kv/guard";
import { createMemoryKv } from "../../src/platform/kv/memory";
import { createRedisKv } from "../../src/platform/kv/redis";
import { createUpstashKv } from "../../src/platform/kv/upstash";
import { REDIS_URL } from "../support/env";
import { freePort } from "../support/net";
import { startUpstashBridge, type UpstashBridge } from "../support/upstash-bridge";

const RUN = `kvc:${process.pid}:${randomUUID().slice(0, 8)}:`;

type Factory = { name: string; create(): Promise<Kv>; dispose?(): Promise<void> };

let bridge: UpstashBridge | undefined;
const adapters: Factory[] = [
  { name: "memory", create: async () => createMemoryKv() },
  { name: "redis", create: async () => createRedisKv({ url: REDIS_URL, prefix: `${RUN}redis:` }) },
  {
    name: "upstash",
    async create() {
      bridge = await startUpstashBridge({ redisUrl: REDIS_URL });
      return createUpstashKv({ url: bridge.url, token: bridge.token, prefix: `${RUN}upstash:` });
    },
    dispose: async () => bridge?.stop(),
  },
];

const sorted = (xs: string[]) => [...xs].sort();

describe.each(adapters)("kv contract: $name", (adapter) => {
  let kv: Kv;
  let n = 0;
  /** A key namespace of its own for each test. */
  const ns = () => `t${n++}:`;

  beforeAll(async () => {
    kv = await adapter.create();
    await kv.ping();
  });
  afterAll(async () => {
    const left = await kv.keys("*");
    if (left.length) await kv.del(left);
    await kv.close();
    await adapter.dispose?.();
  });

  it("gets what was set, null for a missing key, and overwrites", async () => {
    const p = ns();
    expect(await kv.get(`${p}missing`)).toBeNull();
    expect(await kv.set(`${p}a`, "1")).toBe(true);
    expect(await kv.get(`${p}a`)).toBe("1");
    expect(await kv.set(`${p}a`, 'héllo ✓ {"json":[1,2]}')).toBe(true);
    expect(await kv.get(`${p}a`)).toBe('héllo ✓ {"json":[1,2]}');
    expect(await kv.set(`${p}empty`, "")).toBe(true);
    expect(await kv.get(`${p}empty`)).toBe("");
    // A value that happens to look like base64 or a number stays the string that was set.
    expect(await kv.set(`${p}b64`, "T0s=")).toBe(true);
    expect(await kv.get(`${p}b64`)).toBe("T0s=");
    expect(await kv.set(`${p}num`, "0042")).toBe(true);
    expect(await kv.get(`${p}num`)).toBe("0042");
  });

  it("sets with a TTL and only if absent", async () => {
    const p = ns();
    expect(await kv.set(`${p}ttl`, "v", { ttlMs: 60_000 })).toBe(true);
    const ttl = await kv.ttl(`${p}ttl`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);

    expect(await kv.set(`${p}nx`, "first", { onlyIfAbsent: true })).toBe(true);
    expect(await kv.set(`${p}nx`, "second", { onlyIfAbsent: true })).toBe(false);
    expect(await kv.get(`${p}nx`)).toBe("first");
    expect(await kv.ttl(`${p}nx`)).toBe(-1);

    expect(await kv.set(`${p}nxttl`, "a", { onlyIfAbsent: true, ttlMs: 60_000 })).toBe(true);
    expect(await kv.set(`${p}nxttl`, "b", { onlyIfAbsent: true, ttlMs: 60_000 })).toBe(false);
    expect(await kv.get(`${p}nxttl`)).toBe("a");
    expect(await kv.ttl(`${p}nxttl`)).toBeGreaterThan(0);

    // A plain set replaces the value and clears the TTL, as SET does.
    expect(await kv.set(`${p}ttl`, "w")).toBe(true);
    expect(await kv.ttl(`${p}ttl`)).toBe(-1);
  });

  it("deletes single and many keys, counting those that existed", async () => {
    const p = ns();
    await kv.set(`${p}a`, "1");
    await kv.set(`${p}b`, "2");
    await kv.sadd(`${p}s`, ["x"]);
    expect(await kv.del(`${p}a`)).toBe(1);
    expect(await kv.del(`${p}a`)).toBe(0);
    expect(await kv.del([`${p}b`, `${p}s`, `${p}nope`])).toBe(2);
    expect(await kv.del([])).toBe(0);
    expect(await kv.get(`${p}b`)).toBeNull();
    expect(await kv.smembers(`${p}s`)).toEqual([]);
  });

  it("increments atomically under concurrency", async () => {
    const p = ns();
    const results = await Promise.all(Array.from({ length: 200 }, () => kv.incr(`${p}c`)));
    expect(await kv.get(`${p}c`)).toBe("200");
    // Every caller saw a distinct value: no two increments read the same old value.
    expect(sorted(results.map(String))).toEqual(sorted(Array.from({ length: 200 }, (_, i) => String(i + 1))));
    expect(await kv.incr(`${p}c`, 5)).toBe(205);
    expect(await kv.incr(`${p}c`, -10)).toBe(195);
    expect(await kv.incr(`${p}neg`, -3)).toBe(-3);
  });

  it("applies the increment TTL on the first increment only", async () => {
    const p = ns();
    expect(await kv.incr(`${p}c`, 1, 10_000)).toBe(1);
    const first = (await kv.ttl(`${p}c`))!;
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThanOrEqual(10_000);
    expect(await kv.incr(`${p}c`, 1, 600_000)).toBe(2);
    expect(await kv.ttl(`${p}c`)).toBeLessThanOrEqual(10_000);

    expect(await kv.incr(`${p}plain`)).toBe(1);
    expect(await kv.ttl(`${p}plain`)).toBe(-1);
    // A counter without expiry gets one from the next increment that carries a TTL.
    expect(await kv.incr(`${p}plain`, 1, 10_000)).toBe(2);
    expect(await kv.ttl(`${p}plain`)).toBeGreaterThan(0);
  });

  it("reports TTLs: null when missing, -1 without expiry, remaining ms after expire", async () => {
    const p = ns();
    expect(await kv.ttl(`${p}missing`)).toBeNull();
    expect(await kv.expire(`${p}missing`, 1000)).toBe(false);
    await kv.set(`${p}k`, "v");
    expect(await kv.ttl(`${p}k`)).toBe(-1);
    expect(await kv.expire(`${p}k`, 30_000)).toBe(true);
    const t = (await kv.ttl(`${p}k`))!;
    expect(t).toBeGreaterThan(0);
    expect(t).toBeLessThanOrEqual(30_000);
    await kv.sadd(`${p}s`, ["a"]);
    expect(await kv.ttl(`${p}s`)).toBe(-1);
    expect(await kv.expire(`${p}s`, 30_000)).toBe(true);
    expect(await kv.ttl(`${p}s`)).toBeGreaterThan(0);
  });

  it("keeps sets: add, remove, members, TTL, empty set disappears", async () => {
    const p = ns();
    expect(await kv.smembers(`${p}s`)).toEqual([]);
    expect(await kv.sadd(`${p}s`, ["a", "b", "a"])).toBe(2);
    expect(await kv.sadd(`${p}s`, ["b", "c"])).toBe(1);
    expect(await kv.sadd(`${p}s`, [])).toBe(0);
    expect(sorted(await kv.smembers(`${p}s`))).toEqual(["a", "b", "c"]);
    expect(await kv.ttl(`${p}s`)).toBe(-1);
    expect(await kv.srem(`${p}s`, ["a", "zz"])).toBe(1);
    expect(await kv.srem(`${p}s`, [])).toBe(0);
    expect(await kv.srem(`${p}missing`, ["a"])).toBe(0);
    expect(sorted(await kv.smembers(`${p}s`))).toEqual(["b", "c"]);
    expect(await kv.srem(`${p}s`, ["b", "c"])).toBe(2);
    expect(await kv.ttl(`${p}s`)).toBeNull();

    expect(await kv.sadd(`${p}t`, ["m1", "m 2", "1"], 60_000)).toBe(3);
    const t = (await kv.ttl(`${p}t`))!;
    expect(t).toBeGreaterThan(0);
    expect(t).toBeLessThanOrEqual(60_000);
    expect(sorted(await kv.smembers(`${p}t`))).toEqual(["1", "m 2", "m1"]);
  });

  it("lists keys by glob pattern with * and ?, without the prefix", async () => {
    const p = ns();
    for (const k of ["user:1", "user:22", "user:abc", "users", "tag:x", "hello", "hallo", "h^llo", "a*b"])
      await kv.set(`${p}${k}`, "1");
    await kv.sadd(`${p}user:set`, ["m"]);
    const keys = async (pattern: string) => sorted(await kv.keys(`${p}${pattern}`));
    expect(await keys("user:*")).toEqual([`${p}user:1`, `${p}user:22`, `${p}user:abc`, `${p}user:set`]);
    expect(await keys("user:?")).toEqual([`${p}user:1`]);
    expect(await keys("user:??")).toEqual([`${p}user:22`]);
    expect(await keys("user*")).toHaveLength(5);
    expect(await keys("h?llo")).toEqual([`${p}h^llo`, `${p}hallo`, `${p}hello`]);
    expect(await keys("h[ae]llo")).toEqual([`${p}hallo`, `${p}hello`]);
    expect(await keys("h[^e]llo")).toEqual([`${p}h^llo`, `${p}hallo`]);
    expect(await keys("a\\*b")).toEqual([`${p}a*b`]);
    expect(await keys("nothing*")).toEqual([]);
    expect(await keys("*")).toHaveLength(10);
  });

  it("expires keys, sets and counters for real", async () => {
    const p = ns();
    await kv.set(`${p}str`, "v", { ttlMs: 80 });
    await kv.sadd(`${p}set`, ["a"], 80);
    await kv.incr(`${p}ctr`, 1, 80);
    await kv.set(`${p}exp`, "v");
    await kv.expire(`${p}exp`, 80);
    await kv.set(`${p}stays`, "v");
    await sleep(400);
    expect(await kv.get(`${p}str`)).toBeNull();
    expect(await kv.smembers(`${p}set`)).toEqual([]);
    expect(await kv.get(`${p}exp`)).toBeNull();
    expect(await kv.ttl(`${p}str`)).toBeNull();
    expect(sorted(await kv.keys(`${p}*`))).toEqual([`${p}stays`]);
    // An expired counter starts over, and an expired key can be claimed again with NX.
    expect(await kv.incr(`${p}ctr`, 1, 80)).toBe(1);
    expect(await kv.set(`${p}str`, "again", { onlyIfAbsent: true })).toBe(true);
  });

  it("rejects operations against a key of the wrong type", async () => {
    const p = ns();
    await kv.set(`${p}str`, "not a number");
    await kv.sadd(`${p}set`, ["a"]);
    await expect(kv.sadd(`${p}str`, ["x"])).rejects.toThrow(/WRONGTYPE/);
    await expect(kv.sadd(`${p}str`, ["x"], 60_000)).rejects.toThrow(/WRONGTYPE/);
    await expect(kv.smembers(`${p}str`)).rejects.toThrow(/WRONGTYPE/);
    await expect(kv.srem(`${p}str`, ["x"])).rejects.toThrow(/WRONGTYPE/);
    await expect(kv.get(`${p}set`)).rejects.toThrow(/WRONGTYPE/);
    await expect(kv.incr(`${p}str`)).rejects.toThrow(/not an integer/);
    await expect(kv.incr(`${p}set`)).rejects.toThrow(/WRONGTYPE/);
    // The failed calls changed nothing.
    expect(await kv.get(`${p}str`)).toBe("not a number");
    expect(await kv.ttl(`${p}str`)).toBe(-1);
    expect(await kv.smembers(`${p}set`)).toEqual(["a"]);
  });

  it("treats reply errors as answers: a run of them leaves a networked adapter's breaker closed", async () => {
    const p = ns();
    await kv.set(`${p}str`, "x");
    for (let i = 0; i < 4; i++) {
      // Both forms the Upstash client words a reply error in, and ioredis' ReplyError.
      await expect(kv.smembers(`${p}str`)).rejects.toThrow(/WRONGTYPE/);
      await expect(kv.sadd(`${p}str`, ["y"])).rejects.toThrow(/WRONGTYPE/);
    }
    if ("breaker" in kv) expect((kv as GuardedKv).breaker.state()).toBe("closed");
    expect(await kv.get(`${p}str`)).toBe("x");
  });

  it("counts calls, hits and misses into the request's metrics", async () => {
    const p = ns();
    const metrics = newMetrics();
    await runWithContext({ correlationId: "kv-metrics", metrics }, async () => {
      await kv.set(`${p}a`, "1");
      await kv.get(`${p}a`);
      await kv.get(`${p}missing`);
      await kv.incr(`${p}c`);
    });
    expect(metrics).toMatchObject({ kvCalls: 4, kvHits: 1, kvMisses: 1 });
    expect(metrics.kvMs).toBeGreaterThanOrEqual(0);
  });
});

describe("globToRegExp (memory adapter) matches Redis' own glob matcher", () => {
  // [pattern, key, matches]: each row is also checked against the real Redis below.
  const cases: Array<[string, string, boolean]> = [
    ["*", "", true],
    ["*", "a:b:c", true],
    ["a*", "a\nb", true],
    ["a*c", "ac", true],
    ["a?c", "abc", true],
    ["a?c", "ac", false],
    ["a?c", "abbc", false],
    ["h[ae]llo", "hello", true],
    ["h[ae]llo", "hillo", false],
    ["h[^e]llo", "hallo", true],
    ["h[^e]llo", "hello", false],
    ["h[^e]llo", "h^llo", true],
    ["[a-c]", "b", true],
    ["[a-c]", "d", false],
    ["[c-a]", "b", true],
    ["a\\*b", "a*b", true],
    ["a\\*b", "axb", false],
    ["a[*]b", "a*b", true],
    ["a[\\]]b", "a]b", true],
    ["[[]x", "[x", true],
    ["[x", "x", true],
    ["[x", "[x", false],
    ["[]", "a", false],
    ["[^]", "a", true],
    ["a.b", "a.b", true],
    ["a.b", "axb", false],
    ["(a|b)+$", "(a|b)+$", true],
    ["(a|b)+$", "a", false],
    ["^a{2}/", "^a{2}/", true],
    ["a-b", "a-b", true],
    ["trailing\\", "trailing\\", true],
  ];

  it.each(cases)("%j against %j → %s", (pattern, key, expected) => {
    expect(globToRegExp(pattern).test(key)).toBe(expected);
  });

  it("agrees with Redis KEYS on every row of the table", async () => {
    const redis = new Redis(REDIS_URL);
    const prefix = `${RUN}glob:`;
    try {
      for (const [i, [pattern, key, expected]] of cases.entries()) {
        const p = `${prefix}${i}:`;
        await redis.set(`${p}${key}`, "1");
        const found = await redis.keys(`${p}${pattern}`);
        expect({ pattern, key, matches: found.length === 1 }).toEqual({ pattern, key, matches: expected });
      }
    } finally {
      const left = await redis.keys(`${prefix}*`);
      if (left.length) await redis.del(...left);
      redis.disconnect();
    }
  });
});

describe("upstash bridge speaks the Upstash REST protocol", () => {
  let b: UpstashBridge;
  const prefix = `${RUN}proto:`;
  beforeAll(async () => {
    b = await startUpstashBridge({ redisUrl: REDIS_URL });
  });
  afterAll(async () => {
    await post("/", [
      "EVAL",
      "for _,k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end",
      0,
      `${prefix}*`,
    ]);
    await b.stop();
  });
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${b.url}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${b.token}`, "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });

  it("answers 401 without the bearer token", async () => {
    const res = await fetch(b.url, { method: "POST", body: JSON.stringify(["PING"]) });
    expect(res.status).toBe(401);
    expect(await res.json()).toHaveProperty("error");
  });

  it("answers { result }, { error } with 400, and base64 strings when asked", async () => {
    expect(await (await post("/", ["SET", `${prefix}a`, "héllo"])).json()).toEqual({ result: "OK" });
    expect(await (await post("/", ["GET", `${prefix}a`])).json()).toEqual({ result: "héllo" });
    const b64 = await (await post("/", ["GET", `${prefix}a`], { "Upstash-Encoding": "base64" })).json();
    expect(Buffer.from(b64.result, "base64").toString()).toBe("héllo");
    const bad = await post("/", ["INCR", `${prefix}a`]);
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatch(/not an integer/);
  });

  it("runs pipelines per command and transactions atomically", async () => {
    const res = await post("/pipeline", [
      ["SET", `${prefix}p`, "1"],
      ["INCR", `${prefix}a`],
      ["INCRBY", `${prefix}p`, 2],
    ]);
    const body = await res.json();
    expect(body[0]).toEqual({ result: "OK" });
    expect(body[1].error).toMatch(/not an integer/);
    expect(body[2]).toEqual({ result: 3 });
    const aborted = await post("/multi-exec", [["SET", `${prefix}m`, "1"], ["NOSUCHCOMMAND"]]);
    expect(aborted.status).toBe(400);
    expect(await (await post("/", ["EXISTS", `${prefix}m`])).json()).toEqual({ result: 0 });
  });

  it("runs @upstash/ratelimit's #!lua scripts through EVALSHA and EVAL", async () => {
    const { Ratelimit } = await import("@upstash/ratelimit");
    const { Redis: UpstashRedis } = await import("@upstash/redis");
    const limiter = new Ratelimit({
      redis: new UpstashRedis({ url: b.url, token: b.token, enableTelemetry: false }),
      limiter: Ratelimit.fixedWindow(3, "60 s"),
      prefix: `${prefix}rl`,
      analytics: false,
    });
    const id = randomUUID();
    const results = [];
    for (let i = 0; i < 4; i++) results.push((await limiter.limit(id)).success);
    expect(results).toEqual([true, true, true, false]);
    expect((await limiter.getRemaining(id)).remaining).toBe(0);
  });
});

/** Accepts TCP and never answers (a hung Redis or a silent REST endpoint); counts what reaches it. */
async function silentServer() {
  let bytes = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("data", (d) => {
      bytes += d.length;
    });
    socket.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as { port: number }).port,
    bytes: () => bytes,
    stop: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

type Down = {
  name: string;
  kv(now: () => number): Promise<{ kv: GuardedKv; seen?: () => number; stop?(): Promise<void> }>;
};
const DOWN: Down[] = [
  {
    name: "redis, closed port",
    kv: async (now) => ({
      kv: createRedisKv({ url: `redis://127.0.0.1:${await freePort()}`, timeoutMs: 200, breaker: { now } }),
    }),
  },
  {
    name: "redis, server that never answers",
    async kv(now) {
      const s = await silentServer();
      const kv = createRedisKv({ url: `redis://127.0.0.1:${s.port}`, timeoutMs: 200, breaker: { now } });
      return { kv, seen: s.bytes, stop: s.stop };
    },
  },
  {
    name: "upstash, closed port",
    kv: async (now) => ({
      kv: createUpstashKv({
        url: `http://127.0.0.1:${await freePort()}`,
        token: "t",
        timeoutMs: 200,
        breaker: { now },
      }),
    }),
  },
  {
    name: "upstash, endpoint that never answers",
    async kv(now) {
      const s = await silentServer();
      const kv = createUpstashKv({
        url: `http://127.0.0.1:${s.port}`,
        token: "t",
        timeoutMs: 200,
        breaker: { now },
      });
      return { kv, seen: s.bytes, stop: s.stop };
    },
  },
];

describe.each(DOWN)("kv fails fast: $name", (down) => {
  it("rejects every call with DependencyUnavailableError, opens after 5 failures and then stops calling", async () => {
    let now = 1_000_000;
    const { kv, seen, stop } = await down.kv(() => now);
    try {
      const calls = [
        () => kv.get("a"),
        () => kv.set("a", "1"),
        () => kv.incr("c"),
        () => kv.smembers("s"),
        () => kv.keys("*"),
      ];
      for (const call of calls) {
        const err = await call().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(DependencyUnavailableError);
        expect((err as DependencyUnavailableError).reason).not.toBe("open");
      }
      expect(kv.breaker.state()).toBe("open");
      const reached = seen?.();
      const refused = await kv.ping().catch((e: unknown) => e);
      expect(refused).toMatchObject({ reason: "open", retryAfterMs: 30_000 });
      await expect(kv.del(["a", "b"])).rejects.toBeInstanceOf(DependencyUnavailableError);
      // Give a stray write time to land: nothing reaches the server while the breaker is open.
      await sleep(50);
      if (seen) expect(seen()).toBe(reached);
      // Half-open after 30 s: one probe goes out and, failing, opens the breaker again.
      now += 30_000;
      expect(kv.breaker.state()).toBe("half-open");
      expect(await kv.get("a").catch((e: unknown) => (e as DependencyUnavailableError).reason)).not.toBe(
        "open",
      );
      expect(kv.breaker.state()).toBe("open");
    } finally {
      await kv.close();
      await stop?.();
    }
  });
});
