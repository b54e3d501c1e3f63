/**
 * createHorizonClient against the real app (PGlite): auth and its events, the session kept in
 * storage, refresh before expiry and after a 401, a refresh token revoked elsewhere, typed REST
 * with ETag revalidation and problem+json errors, the protocol header on every request, 426 for
 * an old protocol, retries honouring Retry-After, a dropped connection, offline edits that sync,
 * a storage that cannot write, and two instances sharing one storage.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHorizonClient, type HorizonClient, HorizonError } from "../../../src/client/index";
import { MemoryStorage } from "../../../src/client/storage/memory";
import { PROTOCOL_HEADER, PROTOCOL_VERSION } from "../../../src/protocol/version";
import { createTestApp, type TestApp } from "../../support/app";
import { createBuilding, type TestBuilding } from "../../support/fixtures";
import { failingStorage, join, network, ORIGIN } from "./harness";

const PASSWORD = "Correct-Horse-9-Battery!";
let n = 0;
const email = () => `sdk-${Date.now().toString(36)}-${n++}@test.horizon`;

describe("createHorizonClient against the app", () => {
  let t: TestApp;
  let b: TestBuilding;
  beforeAll(async () => {
    t = await createTestApp({ env: { RATE_LIMIT_ENABLED: "false" } });
    b = await createBuilding(t.services);
  });
  afterAll(() => t.close());

  const open = async (
    storage = new MemoryStorage(),
    net = network(t),
    extra: Record<string, unknown> = {},
  ) => {
    const client = await createHorizonClient({
      url: `${ORIGIN}/api/v1/`,
      storage,
      fetch: net.fetch,
      retry: { baseMs: 1, maxMs: 5 },
      ...extra,
    });
    return { client, storage, net };
  };

  /** A registered, signed-in member of the test building. */
  const member = async (role: "manager" | "resident" = "manager", storage = new MemoryStorage()) => {
    const o = await open(storage);
    const user = await o.client.auth.register({ email: email(), password: PASSWORD, name: "SDK User" });
    await join(t, b.id, user.id, role);
    return { ...o, user };
  };

  it("registers, signs in, knows the user, emits auth events, and restores the session from storage", async () => {
    const { client, storage } = await open();
    const events: string[] = [];
    client.auth.onAuthStateChange((e) => events.push(e.type));
    expect(client.url).toBe(ORIGIN);
    const mail = email();
    const user = await client.auth.register({ email: mail, password: PASSWORD, name: "Ada" });
    expect(user.email).toBe(mail);
    expect(client.auth.user?.id).toBe(user.id);
    expect(events).toEqual(["SIGNED_IN"]);

    // A restart: a new client over the same storage is signed in without asking again.
    const again = (await open(storage)).client;
    expect(again.auth.signedIn).toBe(true);
    expect((await again.auth.getUser()).id).toBe(user.id);

    await client.auth.signOut();
    expect(events).toEqual(["SIGNED_IN", "SIGNED_OUT"]);
    expect(client.auth.signedIn).toBe(false);
    expect(await storage.getItem("horizon:session")).toBeNull();
    // The signed-out refresh token is dead on the server too.
    await expect(again.auth.refresh()).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
    await expect(client.auth.signIn({ email: mail, password: "wrong-Password-1!" })).rejects.toMatchObject({
      code: "INVALID_CREDENTIALS",
      status: 401,
    });
  });

  it("typed REST: lists, revalidates with If-None-Match, and throws problem+json as HorizonError with its code", async () => {
    const { client, net } = await member();
    const path = "/api/v1/buildings/{buildingId}/announcements" as const;
    const params = { path: { buildingId: b.id } };
    await client.data(
      client.api.POST(path, { params, body: { title: "Lift service", body: "Friday 10-12" } }),
    );
    const first = await client.data(client.api.GET(path, { params }));
    expect(first.data.map((a) => a.title)).toContain("Lift service");
    const second = await client.api.GET(path, { params });
    // The server answered 304 to the SDK's If-None-Match; the caller still sees the page.
    const sent = net.seen.filter((s) => s.method === "GET" && s.path.endsWith("/announcements"));
    expect(sent.at(-1)!.headers.get("if-none-match")).toMatch(/^"/);
    expect(sent.at(-1)!.status).toBe(304);
    expect(second.response.status).toBe(200);
    expect(second.response.headers.get("x-horizon-revalidated")).toBe("304");
    expect(second.data).toEqual(first);

    const missing = client.data(
      client.api.GET("/api/v1/buildings/{buildingId}/announcements/{announcementId}", {
        params: { path: { buildingId: b.id, announcementId: crypto.randomUUID() } },
      }),
    );
    await expect(missing).rejects.toBeInstanceOf(HorizonError);
    await expect(missing).rejects.toMatchObject({ code: "NOT_FOUND", status: 404 });
    const err = (await missing.catch((e) => e)) as HorizonError;
    expect(err.correlationId).toEqual(expect.any(String));
    // Every request carried the protocol version.
    expect(net.seen.length).toBeGreaterThan(4);
    for (const s of net.seen) expect(s.headers.get(PROTOCOL_HEADER), s.path).toBe(String(PROTOCOL_VERSION));
  });

  it("refreshes after a 401 and sends the request again", async () => {
    const { client, storage, net } = await member();
    const stored = JSON.parse((await storage.getItem("horizon:session"))!);
    // The access token went bad (server restarted with rotated keys, clock skew): the next call is a 401.
    await storage.setItem("horizon:session", JSON.stringify({ ...stored, accessToken: "not.a.jwt" }));
    const restarted = (await open(storage, net)).client;
    const refreshed: string[] = [];
    restarted.auth.onAuthStateChange((e) => refreshed.push(e.type));
    const me = await restarted.data(restarted.api.GET("/api/v1/me"));
    expect(me.id).toBe(client.auth.user!.id);
    expect(refreshed).toEqual(["TOKEN_REFRESHED"]);
    const statuses = net.seen.filter((s) => s.path === "/api/v1/me").map((s) => s.status);
    expect(statuses.slice(-2)).toEqual([401, 200]);
  });

  it("refreshes before the access token expires", async () => {
    const { storage, net } = await member();
    const stored = JSON.parse((await storage.getItem("horizon:session"))!);
    await storage.setItem("horizon:session", JSON.stringify({ ...stored, expiresAt: Date.now() + 5_000 }));
    const restarted = (await open(storage, net, { autoRefresh: false })).client;
    await restarted.data(restarted.api.GET("/api/v1/me"));
    const paths = net.seen.map((s) => s.path);
    // The refresh went first: no request was sent with the nearly expired token.
    expect(paths.slice(-2)).toEqual(["/api/v1/auth/refresh", "/api/v1/me"]);
    expect(restarted.auth.expiresAt!).toBeGreaterThan(Date.now() + 60_000);
  });

  it("a refresh token revoked elsewhere signs the client out cleanly, saying why", async () => {
    const { client, storage } = await member();
    const { refreshToken } = JSON.parse((await storage.getItem("horizon:session"))!);
    // "Sign out everywhere" from another device revokes this refresh token.
    const res = await t.request("/api/v1/auth/logout", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refreshToken }),
    });
    expect(res.status).toBe(204);
    const events: unknown[] = [];
    client.auth.onAuthStateChange((e) => events.push(e));
    await expect(client.auth.refresh()).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
    expect(events).toEqual([
      { type: "SIGNED_OUT", reason: "refresh_token_revoked", detail: expect.stringMatching(/revoked/) },
    ]);
    expect(client.auth.signedIn).toBe(false);
    expect(await storage.getItem("horizon:session")).toBeNull();
    await expect(client.data(client.api.GET("/api/v1/me"))).rejects.toMatchObject({ status: 401 });
  });

  it("retries 503 with Retry-After no sooner than it says, and a dropped idempotent request", async () => {
    const { client, net } = await member();
    const busy = () =>
      new Response(JSON.stringify({ code: "DEPENDENCY_UNAVAILABLE", status: 503 }), {
        status: 503,
        headers: { "retry-after": "2", "content-type": "application/problem+json" },
      });
    const isMe = (r: Request) => new URL(r.url).pathname === "/api/v1/me";
    net.faults.push({ match: isMe, fault: busy() }, { match: isMe, fault: "drop" });
    const started = Date.now();
    const me = await client.data(client.api.GET("/api/v1/me"));
    expect(me.id).toBe(client.auth.user!.id);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
    const tries = net.seen.filter((s) => s.path === "/api/v1/me").map((s) => s.status);
    expect(tries.slice(-2)).toEqual([503, 200]);
  });

  it("a dropped POST surfaces as NETWORK_ERROR (its effect is unknown: never resent blindly)", async () => {
    const { client, net } = await member();
    net.faults.push({ match: (r) => r.method === "POST" && r.url.endsWith("/announcements"), fault: "drop" });
    const call = client.api.POST("/api/v1/buildings/{buildingId}/announcements", {
      params: { path: { buildingId: b.id } },
      body: { title: "Once", body: "only" },
    });
    await expect(call).rejects.toMatchObject({ code: "NETWORK_ERROR" });
  });

  it("an app below the oldest protocol gets UPGRADE_REQUIRED, as an event and a typed error", async () => {
    const { client, net } = await member();
    const events: string[] = [];
    client.on((e) => events.push(`${e.type}:${e.error.problem?.minProtocol}`));
    net.rewrite = (req) => {
      const headers = new Headers(req.headers);
      headers.set(PROTOCOL_HEADER, "1");
      return new Request(req, { headers });
    };
    await expect(client.data(client.api.GET("/api/v1/me"))).rejects.toMatchObject({
      code: "UPGRADE_REQUIRED",
      status: 426,
    });
    expect(events).toEqual([`UPGRADE_REQUIRED:${PROTOCOL_VERSION}`]);
  });

  describe("sync", () => {
    let sdk: HorizonClient;
    it("queues an edit offline, syncs it when back, and a dropped push is resent without a duplicate", async () => {
      const m = await member("manager");
      sdk = m.client;
      const sync = await sdk.sync({ buildings: [b.id], intervalMs: 0 });
      await sync.syncNow();
      m.net.offline = true;
      const id = await sync.create("announcements", {
        buildingId: b.id,
        title: "Offline note",
        body: "queued",
      });
      expect(sync.get("announcements", id)?.title).toBe("Offline note");
      await expect(sync.syncNow()).rejects.toThrow(/offline/);
      expect(sync.pending()).toBe(1);
      m.net.offline = false;
      // The push reaches the server, its answer is lost; the retry is answered as a replay.
      m.net.faults.push({ match: (r) => r.url.endsWith("/sync/push"), fault: "drop-after-send" });
      await expect(sync.syncNow()).rejects.toThrow();
      await sync.syncNow();
      expect(sync.pending()).toBe(0);
      expect(sync.serverRows("announcements").filter((a) => a.id === id)).toHaveLength(1);
      const listed = await sdk.data(
        sdk.api.GET("/api/v1/buildings/{buildingId}/announcements", {
          params: { path: { buildingId: b.id } },
        }),
      );
      expect(listed.data.filter((a) => a.id === id)).toHaveLength(1);
      await sdk.close();
    });

    it("a storage that cannot write refuses the edit (the promise rejects) and loses none already queued", async () => {
      const storage = failingStorage(new MemoryStorage());
      const m = await member("manager", storage);
      const sync = await m.client.sync({ buildings: [b.id], intervalMs: 0 });
      await sync.syncNow();
      m.net.offline = true;
      const kept = await sync.create("announcements", { buildingId: b.id, title: "Kept", body: "saved" });
      storage.fail(true);
      await expect(
        sync.create("announcements", { buildingId: b.id, title: "Refused", body: "disk full" }),
      ).rejects.toThrow(/storage is full/);
      expect(sync.list("announcements").map((a) => a.title)).not.toContain("Refused");
      storage.fail(false);
      // The next edit writes the queue again: the refused one must not ride along.
      await sync.create("announcements", { buildingId: b.id, title: "Kept too", body: "saved" });
      await m.client.close();
      // After a restart the kept edit is still queued, the refused one was never there; it syncs.
      m.net.offline = false;
      const restarted = (await open(storage, m.net)).client;
      const again = await restarted.sync({ buildings: [b.id], intervalMs: 0 });
      expect(again.pending()).toBe(2);
      await again.syncNow();
      expect(again.serverRows("announcements").map((a) => a.id)).toContain(kept);
      expect(again.list("announcements").map((a) => a.title)).not.toContain("Refused");
      await restarted.close();
    });

    it("two instances on one storage: one owns the queue; the other takes over once it is given up or expires", async () => {
      const m = await member("manager");
      const first = await m.client.sync({ buildings: [b.id], intervalMs: 0, lease: { ttlMs: 400 } });
      const second = (await open(m.storage, m.net)).client;
      await expect(second.sync({ buildings: [b.id], intervalMs: 0 })).rejects.toMatchObject({
        code: "STORE_LOCKED",
      });
      m.net.offline = true;
      const edit = await first.create("announcements", {
        buildingId: b.id,
        title: "From tab one",
        body: "x",
      });
      m.net.offline = false;
      // Tab one freezes (no close, no renewal once its timer stops): after the TTL tab two takes over.
      (
        first as unknown as { opts: { store: { lease?: { stopRenewing(): void } } } }
      ).opts.store.lease?.stopRenewing();
      const takeover = await second.sync({
        buildings: [b.id],
        intervalMs: 0,
        waitForQueueMs: 5_000,
        lease: { ttlMs: 400 },
      });
      expect(takeover.pending()).toBe(1);
      // The frozen tab wakes up: its writes are refused, not interleaved with the new owner's.
      await expect(
        first.create("announcements", { buildingId: b.id, title: "Zombie", body: "y" }),
      ).rejects.toMatchObject({ code: "STORE_LOCKED" });
      await takeover.syncNow();
      expect(takeover.pending()).toBe(0);
      expect(takeover.serverRows("announcements").map((a) => a.id)).toContain(edit);
      expect(takeover.list("announcements").map((a) => a.title)).not.toContain("Zombie");
      await second.close();
    });

    it("signing out closes the user's queue and gives its lease up", async () => {
      const m = await member("manager");
      await m.client.sync({ buildings: [b.id], intervalMs: 0, lease: { ttlMs: 60_000 } });
      const other = (await open(m.storage, m.net)).client;
      await expect(other.sync({ buildings: [b.id], intervalMs: 0 })).rejects.toMatchObject({
        code: "STORE_LOCKED",
      });
      const creds = { email: m.client.auth.user!.email, password: PASSWORD };
      await m.client.auth.signOut();
      await other.auth.signIn(creds);
      const taken = await other.sync({ buildings: [b.id], intervalMs: 0, waitForQueueMs: 2_000 });
      expect(taken.closed).toBe(false);
      await other.close();
    });
  });
});
