/**
 * The SDK as a React Native app bundles it: esbuild with the `react-native` condition (as Metro
 * resolves), the core plus the React Native storage, every dependency bundled in. The bundle
 * must import no `node:` module and touch no DOM global (Hermes has neither); the polyfills the
 * SDK needs on Hermes are documented in docs/sdk.md (crypto.randomUUID). Bundled from source so
 * the check needs no prior build; the packed package's `exports` carry the same files.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";

const SRC = join(__dirname, "../../src/client");

/**
 * Free (not property-access) uses of browser-only globals. An environment probe guarded by
 * `typeof` (partysocket: \`typeof navigator !== "undefined" && navigator.product === "ReactNative"\`,
 * which React Native answers) is removed first: it cannot throw where the global is missing.
 */
const unguarded = (text: string) =>
  text.replace(/typeof\s+([\w$]+)\s*!==?\s*"undefined"\s*&&\s*\1\b/g, "").replace(/typeof\s+[\w$]+/g, "");
const DOM_GLOBALS =
  /(?<![.\w$])(window|document|localStorage|sessionStorage|indexedDB|navigator|location|HTMLElement|customElements|IDBKeyRange)\b(?!\s*:)/g;

async function bundle(code: string): Promise<{ text: string; inputs: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), "horizon-rn-"));
  try {
    const entry = join(dir, "app.ts");
    writeFileSync(entry, code);
    const out = await build({
      entryPoints: [entry],
      bundle: true,
      write: false,
      format: "esm",
      platform: "neutral",
      conditions: ["react-native"],
      mainFields: ["react-native", "module", "main"],
      nodePaths: [join(__dirname, "../../node_modules")],
      // A node: import stays in the output (where the check sees it) instead of failing the build.
      external: ["node:*"],
      metafile: true,
      logLevel: "silent",
    });
    return { text: unguarded(out.outputFiles[0]!.text), inputs: Object.keys(out.metafile.inputs) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("the SDK bundled for React Native", () => {
  it("imports no node: module and uses no DOM global", async () => {
    const { text, inputs } = await bundle(`
      import { createHorizonClient } from ${JSON.stringify(join(SRC, "index.ts"))};
      import { reactNativeStorage } from ${JSON.stringify(join(SRC, "storage/react-native.ts"))};
      import { memoryStorage } from ${JSON.stringify(join(SRC, "storage/memory.ts"))};
      import { createUploader } from ${JSON.stringify(join(SRC, "uploads/index.ts"))};
      export async function start(asyncStorage: any) {
        const horizon = await createHorizonClient({ url: "https://api.example", storage: reactNativeStorage(asyncStorage) });
        const sync = await horizon.sync({ buildings: ["b"] });
        horizon.room("b", { onPoke: () => sync.syncNow() });
        return { horizon, spare: memoryStorage(), uploads: createUploader(horizon) };
      }
    `);
    // The core, sync, realtime and both dependencies are in it.
    expect(inputs.some((f) => f.includes("src/client/sync/client.ts"))).toBe(true);
    expect(inputs.some((f) => f.includes("src/client/realtime/index.ts"))).toBe(true);
    expect(inputs.some((f) => f.includes("partysocket"))).toBe(true);
    expect(inputs.some((f) => f.includes("openapi-fetch"))).toBe(true);
    expect(inputs.filter((f) => f.includes("/storage/file") || f.includes("zod"))).toEqual([]);
    expect(text).not.toMatch(/["']node:[a-z]/);
    expect([...text.matchAll(DOM_GLOBALS)].map((m) => m[0])).toEqual([]);
  });

  it("the check sees a node: import and a DOM global when one creeps in", async () => {
    const { text } = await bundle(`
      import { FileStorage } from ${JSON.stringify(join(SRC, "storage/file.ts"))};
      export const s = new FileStorage("/tmp/x");
      export const w = () => window.location.href;
    `).catch((e) => ({ text: String(e) }));
    expect(text).toMatch(/node:/);
    expect([...text.matchAll(DOM_GLOBALS)].length).toBeGreaterThan(0);
  });
});
