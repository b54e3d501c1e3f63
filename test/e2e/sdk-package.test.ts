/**
 * The SDK as a new user gets it: `npm pack` of the @horizon/client workspace, the tarball
 * installed into an empty temporary project (its dependencies from the registry, nothing from
 * this checkout), and a script there — plain Node, only the package's public entries — run
 * against the standalone host as `npm start` runs it (Bun, PGlite, demo seed). The script signs
 * in to the demo building, lists announcements, queues an edit offline, syncs it once back
 * online, and receives a live poke from the building room.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BunHost, startBunHost } from "../integration/realtime/bun-host";

const ROOT = join(__dirname, "../..");

const APP = `
import { createHorizonClient, HorizonError } from "@horizon/client";
import { fileStorage } from "@horizon/client/storage/file";
import { WebSocket } from "@horizon/client/node-websocket";

const [url, dir] = process.argv.slice(2);
const say = (step, data = {}) => console.log(JSON.stringify({ step, ...data }));
let offline = false;
const horizon = await createHorizonClient({
  url,
  storage: fileStorage(dir),
  WebSocket,
  fetch: (input, init) => (offline ? Promise.reject(new TypeError("offline")) : fetch(input, init)),
});
horizon.auth.onAuthStateChange((e) => say("auth", { type: e.type }));

const user = await horizon.auth.signIn({ email: "manager@demo.horizon.example", password: "Horizon-Demo-2026!" });
say("signed-in", { email: user.email });

const buildings = await horizon.data(horizon.api.GET("/api/v1/buildings"));
const building = buildings.data.find((b) => b.name === "Horizon Demo Tower");
const buildingId = building.id;
const list = await horizon.data(
  horizon.api.GET("/api/v1/buildings/{buildingId}/announcements", { params: { path: { buildingId } } }),
);
say("announcements", { count: list.data.length, titles: list.data.map((a) => a.title) });

try {
  await horizon.data(horizon.api.GET("/api/v1/buildings/{buildingId}", { params: { path: { buildingId: crypto.randomUUID() } } }));
} catch (e) {
  say("typed-error", { isHorizonError: e instanceof HorizonError, code: e.code, status: e.status });
}

const sync = await horizon.sync({ buildings: [buildingId], intervalMs: 0 });
await sync.syncNow();
say("synced", { announcements: sync.list("announcements").length });

offline = true;
const id = await sync.create("announcements", { buildingId, title: "Written offline", body: "from the packed SDK" });
await sync.syncNow().catch((e) => say("offline-sync-failed", { message: String(e.message) }));
say("queued", { pending: sync.pending(), visible: sync.get("announcements", id)?.title });
offline = false;
await sync.syncNow();
say("synced-edit", { pending: sync.pending(), onServer: sync.serverRows("announcements").some((a) => a.id === id) });

const poked = new Promise((resolve) => {
  const room = horizon.room(buildingId, {
    onTransport: async (t) => {
      say("transport", { t });
      if (t !== "websocket") return;
      // Another write to the building: the room pokes every member.
      await horizon.data(
        horizon.api.POST("/api/v1/buildings/{buildingId}/announcements", {
          params: { path: { buildingId } },
          body: { title: "Live one", body: "poke me" },
        }),
      );
    },
    onPoke: (frame) => {
      room.close();
      resolve(frame);
    },
  });
});
const frame = await poked;
say("poke", { type: frame.type, version: frame.version });
await horizon.close();
process.exit(0);
`;

describe("the packed SDK in an empty project, against npm start", () => {
  const work = mkdtempSync(join(tmpdir(), "horizon-sdk-pack-"));
  let host: BunHost | null = null;
  let base = "";
  let tarball = "";

  beforeAll(async () => {
    const packed = execFileSync("npm", ["pack", "--json", "--pack-destination", work], {
      cwd: join(ROOT, "src/client"),
      encoding: "utf8",
    });
    tarball = join(work, (JSON.parse(packed) as Array<{ filename: string }>)[0]!.filename);
    const app = join(work, "app");
    execFileSync("mkdir", ["-p", app]);
    writeFileSync(
      join(app, "package.json"),
      JSON.stringify({ name: "an-app", private: true, type: "module" }),
    );
    execFileSync("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", tarball, "ws@8"], {
      cwd: app,
      encoding: "utf8",
      stdio: "pipe",
    });
    writeFileSync(join(app, "app.mjs"), APP);

    host = await startBunHost({}, { readyTimeoutMs: 200_000 });
    base = host.base;
  }, 240_000);

  afterAll(async () => {
    await host?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("the tarball holds the built entries, declarations and no source or server code", () => {
    const files = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" }).split("\n").filter(Boolean);
    expect(files).toContain("package/dist/index.js");
    expect(files).toContain("package/dist/types/client/index.d.ts");
    expect(files).toContain("package/dist/storage/react-native.js");
    expect(files).toContain("package/dist/uploads.js");
    expect(files.filter((f) => /\.ts$/.test(f) && !f.endsWith(".d.ts"))).toEqual([]);
    expect(files.filter((f) => /\/(modules|http|platform|db)\//.test(f))).toEqual([]);
    const installed = JSON.parse(
      readFileSync(join(work, "app/node_modules/@horizon/client/package.json"), "utf8"),
    ) as { dependencies: Record<string, string>; sideEffects: boolean };
    expect(Object.keys(installed.dependencies).sort()).toEqual(["openapi-fetch", "partysocket"]);
    expect(installed.sideEffects).toBe(false);
    // The app's node_modules holds the SDK's dependencies and nothing of the server's.
    const tree = execFileSync("npm", ["ls", "--all", "--parseable"], {
      cwd: join(work, "app"),
      encoding: "utf8",
    });
    for (const server of ["hono", "zod", "drizzle-orm", "@electric-sql/pglite", "pg"])
      expect(
        tree.split("\n").some((p) => p.endsWith(`/node_modules/${server}`)),
        server,
      ).toBe(false);
  });

  it("its declarations type an app: REST paths, bodies and responses come from the served document", () => {
    const app = join(work, "app");
    writeFileSync(
      join(app, "typed.ts"),
      `import { createHorizonClient, type HorizonError, type User } from "@horizon/client";
import { memoryStorage } from "@horizon/client/storage/memory";
import { reactNativeStorage } from "@horizon/client/storage/react-native";
export async function main(): Promise<string> {
  const horizon = await createHorizonClient({ url: "http://localhost:8787", storage: memoryStorage() });
  reactNativeStorage({ getItem: async () => null, setItem: async () => {}, removeItem: async () => {} });
  // GET bodies are typed as the full object or its ?fields= projection (the server serves both).
  const me = await horizon.data(horizon.api.GET("/api/v1/me"));
  const id: string = me.id;
  const user: User | null = horizon.auth.user;
  const page = await horizon.data(
    horizon.api.GET("/api/v1/buildings/{buildingId}/announcements", { params: { path: { buildingId: id } } }),
  );
  const title: string | undefined = page.data[0]?.title;
  // @ts-expect-error: a title is a string, never a number
  const wrong: number | undefined = page.data[0]?.title;
  // @ts-expect-error: no such route
  void horizon.api.GET("/api/v1/no-such-route");
  // @ts-expect-error: the body misses the required title
  void horizon.api.POST("/api/v1/buildings/{buildingId}/announcements", { params: { path: { buildingId: "b" } }, body: { body: "x" } });
  const code: HorizonError["code"] = "UPGRADE_REQUIRED";
  return \`\${title}\${code}\${user?.email}\${wrong}\`;
}
`,
    );
    const tsc = join(ROOT, "src/client/node_modules/typescript/bin/tsc");
    execFileSync(
      process.execPath,
      [
        tsc,
        "--noEmit",
        "--strict",
        "--target",
        "es2022",
        "--module",
        "nodenext",
        "--moduleResolution",
        "nodenext",
        "--lib",
        "es2023,dom",
        "--skipLibCheck",
        "typed.ts",
      ],
      { cwd: app, encoding: "utf8" },
    );
  });

  it("signs in to the demo building, lists announcements, syncs an offline edit and receives a live poke", () => {
    const out = execFileSync(process.execPath, ["app.mjs", base, join(work, "app-data")], {
      cwd: join(work, "app"),
      encoding: "utf8",
      timeout: 90_000,
    });
    const steps = out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, any>);
    const step = (name: string) => steps.find((s) => s.step === name)!;
    expect(step("signed-in").email).toBe("manager@demo.horizon.example");
    expect(step("auth").type).toBe("SIGNED_IN");
    expect(step("announcements").count).toBeGreaterThan(0);
    expect(step("typed-error")).toMatchObject({ isHorizonError: true, code: "NOT_FOUND", status: 404 });
    expect(step("synced").announcements).toBe(step("announcements").count);
    expect(step("offline-sync-failed").message).toMatch(/offline/);
    expect(step("queued")).toEqual({ step: "queued", pending: 1, visible: "Written offline" });
    expect(step("synced-edit")).toEqual({ step: "synced-edit", pending: 0, onServer: true });
    expect(step("poke")).toMatchObject({ type: "poke", version: expect.any(Number) });
  });
});
